# The FPN levels the toy detection methods distil: P3-P5 of the 128 x 128 "shapes"
# images (16 x 16, 8 x 8 and 4 x 4 maps, 64 channels), as the toy PCKA config
# (configs/shapes/pcka_fpn_retina-r34_retina-r18-w32_shapes.py) does. P6 and P7 are
# 2 x 2 and 1 x 1 maps: no spatial structure for a feature loss to transfer (a
# spatial softmax or a per-channel normalisation over one pixel is constant), so every
# method leaves them out, where the COCO recipes use 4 or 5 levels.
_base_ = ['../../../shapes/pcka_fpn_retina-r34_retina-r18-w32_shapes.py']

levels = [0, 1, 2]
fpn_channels = 64

# The "+ mimic" term of configs/pcka/_base_/pcka_fpn_mimic.py (a 1 x 1 conv connector
# on the student's level, no norm or activation, and an element-wise mean squared
# error to the teacher's, weight 1) at the toy's width and levels. Loss keys
# `loss_mimic_fpn<level>`.
mimic_distiller = dict(
    connectors={
        f'fpn{level}_mimic_connector': dict(
            type='ConvModuleConnector',
            in_channel=fpn_channels,
            out_channel=fpn_channels,
            kernel_size=1,
            norm_cfg=None,
            act_cfg=None)
        for level in levels
    },
    distill_losses={
        f'loss_mimic_fpn{level}': dict(
            type='L2Loss', loss_weight=1.0, normalize=False, div_element=True)
        for level in levels
    },
    loss_forward_mappings={
        f'loss_mimic_fpn{level}': dict(
            s_feature=dict(from_student=True, recorder='fpn', data_idx=level,
                           connector=f'fpn{level}_mimic_connector'),
            t_feature=dict(from_student=False, recorder='fpn', data_idx=level))
        for level in levels
    })
