# PKD (Cao et al., NeurIPS 2022) with mmrazor's PKDLoss, toy RetinaNet-R34 -> half-width
# R18 on "shapes": loss weight 10 per level, as in mmrazor's
# configs/distill/mmdet/pkd/pkd_fpn_retina_x101_retina_r50_2x_coco.py. Toy adaptation:
# FPN levels P3-P5 (see _base_/fpn_levels_shapes.py). Teacher, FpnTeacherDistill
# wrapper, data and schedule: those of the toy PCKA config.
_base_ = ['./_base_/fpn_levels_shapes.py']

model = dict(
    distiller=dict(
        distill_losses=dict(
            _delete_=True,
            **{f'loss_pkd_fpn{level}': dict(type='PKDLoss', loss_weight=10)
               for level in _base_.levels}),
        loss_forward_mappings=dict(
            _delete_=True,
            **{f'loss_pkd_fpn{level}': dict(
                preds_S=dict(from_student=True, recorder='fpn', data_idx=level),
                preds_T=dict(from_student=False, recorder='fpn', data_idx=level))
               for level in _base_.levels})))
