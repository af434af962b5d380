# DIST (Huang et al., NeurIPS 2022) with mmrazor's DISTLoss, toy ResNet-20 -> ResNet-8
# on "shapes". Weights of mmrazor's DIST config
# (configs/distill/mmcls/dist/dist_logits_resnet34_resnet18_8xb32_in1k.py): inter and
# intra relation 1 each, temperature 1, loss weight 2, cross-entropy weight 1 (mmrazor
# ships no CIFAR setting). Unchanged for the toy.
_base_ = [
    './_base_/distill_resnet20_resnet8_shapes.py', '../_base_/classification_baselines.py'
]

model = dict(distiller=_base_.baseline_distillers.dist)
