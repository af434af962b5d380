# RKD (Park et al., CVPR 2019) with mmrazor's DistanceWiseRKD + AngleWiseRKD on the
# pooled penultimate features, toy ResNet-20 -> ResNet-8 on "shapes". CIFAR-100 setting
# of the CRD / mdistiller benchmark (mdistiller CFG.RKD): distance weight 25, angle
# weight 50, features not L2-normalised (`with_l2_norm=False`), cross-entropy weight 1.
# Unchanged for the toy.
_base_ = [
    './_base_/distill_resnet20_resnet8_shapes.py', '../_base_/classification_baselines.py'
]

model = dict(distiller=_base_.baseline_distillers.rkd)
