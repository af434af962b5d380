# MGD (Yang et al., ECCV 2022) with mmrazor's MGDConnector + MGDLoss, toy RetinaNet-R34
# -> half-width R18 on "shapes": lambda_mgd 0.65, alpha_mgd 2e-5, as in mmrazor's
# configs/distill/mmdet/mgd/mgd_fpn_retina_x101_retina_r50_2x_coco.py. Toy adaptations:
# FPN levels P3-P5 (see _base_/fpn_levels_shapes.py); and the student starts from
# scratch like every other method, where mmrazor's recipe initialises the student's
# neck and head from the teacher checkpoint (here the necks differ in their input
# widths, and the benchmark hands the teacher checkpoint to `model.teacher_ckpt` only).
_base_ = ['./_base_/fpn_levels_shapes.py']

model = dict(
    distiller=dict(
        connectors={
            f'fpn{level}_mgd_connector': dict(
                type='MGDConnector',
                student_channels=_base_.fpn_channels,
                teacher_channels=_base_.fpn_channels,
                lambda_mgd=0.65)
            for level in _base_.levels
        },
        distill_losses=dict(
            _delete_=True,
            **{f'loss_mgd_fpn{level}': dict(type='MGDLoss', alpha_mgd=0.00002)
               for level in _base_.levels}),
        loss_forward_mappings=dict(
            _delete_=True,
            **{f'loss_mgd_fpn{level}': dict(
                preds_S=dict(from_student=True, recorder='fpn', data_idx=level,
                             connector=f'fpn{level}_mgd_connector'),
                preds_T=dict(from_student=False, recorder='fpn', data_idx=level))
               for level in _base_.levels})))
