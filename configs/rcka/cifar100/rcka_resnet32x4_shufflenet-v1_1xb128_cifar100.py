# RCKA, ResNet-32x4 (79.42) -> ShuffleNet-V1 on CIFAR-100; paper Tab. 1: 76.97.
_base_ = ['./_base_/distill_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.shufflenet_v1,
    teacher=_base_.cifar100_classifiers.resnet32x4,
    teacher_ckpt='work_dirs/resnet32x4_1xb128_cifar100/epoch_240.pth',
    distiller=_base_.cka_distillers_cifar100.rcka)
