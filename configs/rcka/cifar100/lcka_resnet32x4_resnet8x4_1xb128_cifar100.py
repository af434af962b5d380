# LCKA, ResNet-32x4 (79.42) -> ResNet-8x4 on CIFAR-100; paper Tab. 1: 75.12.
_base_ = ['./_base_/distill_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.resnet8x4,
    teacher=_base_.cifar100_classifiers.resnet32x4,
    teacher_ckpt='work_dirs/resnet32x4_1xb128_cifar100/epoch_240.pth',
    distiller=_base_.cka_distillers_cifar100.lcka)
