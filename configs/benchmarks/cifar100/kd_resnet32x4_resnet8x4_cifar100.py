# KD (Hinton et al., 2015) with mmrazor's KLDivergence, ResNet-32x4 -> ResNet-8x4 on
# CIFAR-100. Settings of the CRD benchmark that the CIFAR-100 KD numbers of the RCKA,
# DKD and mAKD papers come from (CRD's train_student.py `--distill kd -r 0.1 -a 0.9`,
# also mdistiller's CFG.KD): temperature 4, 0.9 KL (times tau^2, as KLDivergence does),
# 0.1 cross-entropy.
_base_ = [
    './_base_/distill_resnet32x4_resnet8x4.py', '../_base_/classification_baselines.py'
]

model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=0.1))),
    distiller=_base_.baseline_distillers.kd)
