# DIST (Huang et al., NeurIPS 2022) with mmrazor's DISTLoss, ResNet-32x4 -> ResNet-8x4
# on CIFAR-100. Loss weights of mmrazor's DIST config
# (configs/distill/mmcls/dist/dist_logits_resnet34_resnet18_8xb32_in1k.py): inter and
# intra relation 1 each, temperature 1, loss weight 2, cross-entropy weight 1;
# mmrazor ships no CIFAR-100 setting, so the ImageNet one is used unchanged.
_base_ = [
    './_base_/distill_resnet32x4_resnet8x4.py', '../_base_/classification_baselines.py'
]

model = dict(distiller=_base_.baseline_distillers.dist)
