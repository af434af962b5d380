# RKD (Park et al., CVPR 2019) with mmrazor's DistanceWiseRKD + AngleWiseRKD on the
# pooled penultimate features, ResNet-32x4 -> ResNet-8x4 on CIFAR-100. CIFAR-100
# setting of the CRD / mdistiller benchmark (mdistiller CFG.RKD and its rkd_loss):
# distance weight 25, angle weight 50, features not L2-normalised
# (`with_l2_norm=False`; mmrazor's ImageNet config normalises them), cross-entropy
# weight 1.
_base_ = [
    './_base_/distill_resnet32x4_resnet8x4.py', '../_base_/classification_baselines.py'
]

model = dict(distiller=_base_.baseline_distillers.rkd)
