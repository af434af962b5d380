# PKD (Cao et al., NeurIPS 2022) with mmrazor's PKDLoss on FPN levels 0-3, RetinaNet
# X101-64x4d -> R50 on COCO. Loss weight 10 per level, as in mmrazor's
# configs/distill/mmdet/pkd/pkd_fpn_retina_x101_retina_r50_2x_coco.py; the teacher, the
# FpnTeacherDistill wrapper and the 2x schedule are those of the PCKA config of the pair.
_base_ = ['../../pcka/pcka_fpn_retina-x101_retina-r50_2x_coco.py']

model = dict(
    distiller=dict(
        distill_losses=dict(
            _delete_=True,
            **{
                f'loss_pkd_fpn{level}': dict(type='PKDLoss', loss_weight=10)
                for level in range(4)
            }),
        loss_forward_mappings=dict(
            _delete_=True,
            **{
                f'loss_pkd_fpn{level}': dict(
                    preds_S=dict(from_student=True, recorder='fpn', data_idx=level),
                    preds_T=dict(
                        from_student=False, recorder='fpn', data_idx=level))
                for level in range(4)
            })))
