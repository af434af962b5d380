# FCKA, VGG-13 (74.64) -> VGG-8 on CIFAR-100; paper Tab. 1: 74.35.
_base_ = ['./_base_/distill_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.vgg8,
    teacher=_base_.cifar100_classifiers.vgg13,
    teacher_ckpt='work_dirs/vgg13_1xb128_cifar100/epoch_240.pth',
    distiller=_base_.cka_distillers_cifar100.fcka)
