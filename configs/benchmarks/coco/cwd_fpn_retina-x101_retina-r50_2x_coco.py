# CWD (Shu et al., ICCV 2021) with mmrazor's ChannelWiseDivergence on all five FPN
# levels, RetinaNet X101-64x4d -> R50 on COCO. Temperature 1 and loss weight 10 per
# level, as in mmrazor's configs/distill/mmdet/cwd/cwd_fpn_retina_r101_retina_r50_1x_coco.py
# (there with a 1x schedule and an R101 teacher); the teacher, the FpnTeacherDistill
# wrapper and the 2x schedule are those of the PCKA config of the pair.
_base_ = ['../../pcka/pcka_fpn_retina-x101_retina-r50_2x_coco.py']

model = dict(
    distiller=dict(
        distill_losses=dict(
            _delete_=True,
            **{
                f'loss_cwd_fpn{level}': dict(
                    type='ChannelWiseDivergence', tau=1, loss_weight=10)
                for level in range(5)
            }),
        loss_forward_mappings=dict(
            _delete_=True,
            **{
                f'loss_cwd_fpn{level}': dict(
                    preds_S=dict(from_student=True, recorder='fpn', data_idx=level),
                    preds_T=dict(
                        from_student=False, recorder='fpn', data_idx=level))
                for level in range(5)
            })))
