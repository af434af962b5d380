# The "+ mimic" term of PCKA (paper Tab. 3 "Ours + mimic", following DIST): each
# student FPN level 0-3 goes through a conv connector and is pulled to the teacher's
# feature by a mean squared error. Merged into a PCKA pair config with
#     _base_ = ['./<pcka pair config>.py', './_base_/pcka_fpn_mimic.py']
#     model = dict(distiller=_base_.pcka_fpn_mimic_distiller)
# The authors released no mimic config, and the paper states neither the kernel size
# nor the weight of the mimic term: a 1 x 1 conv (no norm, no activation), weight 1 on
# the element-wise mean and levels 0-3 in every mimic config (also on RetinaNet-X101,
# where PCKA itself distils levels 0-2) are our choice. Loss keys: `loss_mimic_fpn0`
# ... `loss_mimic_fpn3`.
pcka_fpn_mimic_distiller = dict(
    connectors={
        f'fpn{level}_mimic_connector': dict(
            type='ConvModuleConnector',
            in_channel=256,
            out_channel=256,
            kernel_size=1,
            norm_cfg=None,
            act_cfg=None)
        for level in range(4)
    },
    distill_losses={
        f'loss_mimic_fpn{level}': dict(
            type='L2Loss', loss_weight=1.0, normalize=False, div_element=True)
        for level in range(4)
    },
    loss_forward_mappings={
        f'loss_mimic_fpn{level}': dict(
            s_feature=dict(
                from_student=True,
                recorder='fpn',
                data_idx=level,
                connector=f'fpn{level}_mimic_connector'),
            t_feature=dict(from_student=False, recorder='fpn', data_idx=level))
        for level in range(4)
    })
