# DKD (Zhao et al., CVPR 2022) with mmrazor's DKDLoss, toy ResNet-20 -> ResNet-8 on
# "shapes", with the authors' CIFAR-100 setting (mdistiller CFG.DKD and
# configs/cifar100/dkd/res32x4_res8x4.yaml): alpha (TCKD) 1, beta (NCKD) 8, temperature
# 4, cross-entropy weight 1. As in the CIFAR-100 suite, mmrazor's DKDLoss has no
# warm-up (mdistiller ramps the weight over the first 20 of 240 epochs), so the full
# weight applies from the first iteration. Unchanged for the toy.
_base_ = [
    './_base_/distill_resnet20_resnet8_shapes.py', '../_base_/classification_baselines.py'
]

model = dict(distiller=_base_.baseline_distillers.dkd)
