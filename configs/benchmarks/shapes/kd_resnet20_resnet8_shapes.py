# KD (Hinton et al., 2015) with mmrazor's KLDivergence, toy ResNet-20 -> ResNet-8 on
# "shapes". Settings of the CRD benchmark (CRD's train_student.py `--distill kd -r 0.1
# -a 0.9`, also mdistiller's CFG.KD): temperature 4, 0.9 KL (times tau^2, as
# KLDivergence does), 0.1 cross-entropy. Unchanged for the toy.
_base_ = [
    './_base_/distill_resnet20_resnet8_shapes.py', '../_base_/classification_baselines.py'
]

model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=0.1))),
    distiller=_base_.baseline_distillers.kd)
