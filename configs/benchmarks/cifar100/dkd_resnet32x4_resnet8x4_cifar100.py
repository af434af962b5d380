# DKD (Zhao et al., CVPR 2022) with mmrazor's DKDLoss, ResNet-32x4 -> ResNet-8x4 on
# CIFAR-100, with the authors' CIFAR-100 setting (mdistiller CFG.DKD and
# configs/cifar100/dkd/res32x4_res8x4.yaml): alpha (TCKD) 1, beta (NCKD) 8,
# temperature 4, cross-entropy weight 1. One difference: mdistiller ramps the DKD
# weight linearly over the first 20 epochs; mmrazor's DKDLoss has no warm-up, so the
# full weight applies from the first iteration.
_base_ = [
    './_base_/distill_resnet32x4_resnet8x4.py', '../_base_/classification_baselines.py'
]

model = dict(distiller=_base_.baseline_distillers.dkd)
