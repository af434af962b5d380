# RKD (Park et al., CVPR 2019) with mmrazor's DistanceWiseRKD + AngleWiseRKD on the
# pooled penultimate features, toy ResNet-20 -> ResNet-8 on "shapes". CIFAR-100 setting
# of the CRD / mdistiller benchmark (mdistiller CFG.RKD): distance weight 25, angle
# weight 50, features not L2-normalised (`with_l2_norm=False`), cross-entropy weight 1.
# Unchanged for the toy.
_base_ = ['./_base_/distill_resnet20_resnet8_shapes.py']

model = dict(
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(feat=_base_.pooled_recorder),
        teacher_recorders=dict(feat=_base_.pooled_recorder),
        distill_losses=dict(
            loss_rkd_distance=dict(
                type='DistanceWiseRKD', loss_weight=25, with_l2_norm=False),
            loss_rkd_angle=dict(
                type='AngleWiseRKD', loss_weight=50, with_l2_norm=False)),
        loss_forward_mappings=dict(
            loss_rkd_distance=_base_.pooled_features,
            loss_rkd_angle=_base_.pooled_features)))
