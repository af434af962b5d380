# RKD (Park et al., CVPR 2019) with mmrazor's DistanceWiseRKD + AngleWiseRKD on the
# pooled penultimate features, ResNet-32x4 -> ResNet-8x4 on CIFAR-100. CIFAR-100
# setting of the CRD / mdistiller benchmark (mdistiller CFG.RKD and its rkd_loss):
# distance weight 25, angle weight 50, features not L2-normalised
# (`with_l2_norm=False`; mmrazor's ImageNet config normalises them), cross-entropy
# weight 1.
_base_ = ['./_base_/distill_resnet32x4_resnet8x4.py']

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
            loss_rkd_distance=dict(
                preds_S=dict(from_student=True, recorder='feat', data_idx=-1),
                preds_T=dict(from_student=False, recorder='feat', data_idx=-1)),
            loss_rkd_angle=dict(
                preds_S=dict(from_student=True, recorder='feat', data_idx=-1),
                preds_T=dict(from_student=False, recorder='feat', data_idx=-1)))))
