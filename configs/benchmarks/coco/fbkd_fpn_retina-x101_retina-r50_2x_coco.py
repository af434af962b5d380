# FBKD (Zhang & Ma, ICLR 2021) with mmrazor's FBKDLoss and its student / teacher
# non-local connectors on FPN levels 0-3, RetinaNet X101-64x4d -> R50 on COCO. Loss and
# connector settings of mmrazor's
# configs/distill/mmdet/fbkd/fbkd_fpn_faster-rcnn_r101_faster-rcnn_r50_1x_coco.py (the
# only FBKD pair mmrazor ships): FBKDLoss defaults, dot-product non-local blocks,
# sub-sampled, channel reduction 4 and max-pool stride 8 / 4 on levels 0 / 1. The
# teacher, the FpnTeacherDistill wrapper (the teacher runs backbone + neck only, which
# is all FBKD reads; the neck outputs are the outputs of the `fpn_convs.<i>.conv` that
# mmrazor records, as RetinaNet's FPN convs have no norm or activation) and the 2x
# schedule are those of the PCKA config of the pair.
_base_ = ['../../pcka/pcka_fpn_retina-x101_retina-r50_2x_coco.py']

# per level: the connectors' channel reduction and max-pool stride (mmrazor's defaults
# on levels 2 and 3)
_level_args = [
    dict(reduction=4, maxpool_stride=8),
    dict(reduction=4, maxpool_stride=4),
    dict(),
    dict(),
]

model = dict(
    distiller=dict(
        connectors={
            f'fpn{level}_fbkd_{side}': dict(
                type=f'FBKD{role}Connector',
                in_channels=256,
                mode='dot_product',
                sub_sample=True,
                **_level_args[level])
            for level in range(4)
            for side, role in (('s', 'Student'), ('t', 'Teacher'))
        },
        distill_losses=dict(
            _delete_=True,
            **{f'loss_fbkd_fpn{level}': dict(type='FBKDLoss') for level in range(4)}),
        loss_forward_mappings=dict(
            _delete_=True,
            **{
                f'loss_fbkd_fpn{level}': dict(
                    s_input=dict(
                        from_student=True,
                        recorder='fpn',
                        data_idx=level,
                        connector=f'fpn{level}_fbkd_s'),
                    t_input=dict(
                        from_student=False,
                        recorder='fpn',
                        data_idx=level,
                        connector=f'fpn{level}_fbkd_t'))
                for level in range(4)
            })))
