# LCKA, ResNet-110 (74.31) -> ResNet-32 on CIFAR-100; paper Tab. 1: 73.64.
_base_ = ['./_base_/distill_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.resnet32,
    teacher=_base_.cifar100_classifiers.resnet110,
    teacher_ckpt='work_dirs/resnet110_1xb128_cifar100/epoch_240.pth',
    distiller=_base_.cka_distillers_cifar100.lcka)
