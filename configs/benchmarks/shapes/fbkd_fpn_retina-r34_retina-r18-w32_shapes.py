# FBKD (Zhang & Ma, ICLR 2021) with mmrazor's FBKDLoss and its student / teacher
# non-local connectors, toy RetinaNet-R34 -> half-width R18 on "shapes". Settings of
# mmrazor's configs/distill/mmdet/fbkd/fbkd_fpn_faster-rcnn_r101_faster-rcnn_r50_1x_coco.py:
# FBKDLoss defaults, dot-product non-local blocks, sub-sampled. Toy adaptations: FPN
# levels P3-P5 (see _base_/fpn_levels_shapes.py); and no extra max-pool or channel
# reduction on the first two levels (mmrazor's stride 8 / 4 and reduction 4 there keep
# the non-local blocks affordable on 100 x 168 COCO maps; on the toy's 16 x 16 and
# 8 x 8 maps they would leave 2 x 2), so every level uses the connectors' defaults, as
# mmrazor's recipe does on its smaller levels.
_base_ = ['./_base_/fpn_levels_shapes.py']

model = dict(
    distiller=dict(
        connectors={
            f'fpn{level}_fbkd_{side}': dict(
                type=f'FBKD{role}Connector',
                in_channels=_base_.fpn_channels,
                mode='dot_product',
                sub_sample=True)
            for level in _base_.levels
            for side, role in (('s', 'Student'), ('t', 'Teacher'))
        },
        distill_losses=dict(
            _delete_=True,
            **{f'loss_fbkd_fpn{level}': dict(type='FBKDLoss') for level in _base_.levels}),
        loss_forward_mappings=dict(
            _delete_=True,
            **{f'loss_fbkd_fpn{level}': dict(
                s_input=dict(from_student=True, recorder='fpn', data_idx=level,
                             connector=f'fpn{level}_fbkd_s'),
                t_input=dict(from_student=False, recorder='fpn', data_idx=level,
                             connector=f'fpn{level}_fbkd_t'))
               for level in _base_.levels})))
