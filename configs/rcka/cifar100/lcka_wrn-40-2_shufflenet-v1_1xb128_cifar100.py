# LCKA, WRN-40-2 (75.61) -> ShuffleNet-V1 on CIFAR-100; paper Tab. 1: 76.12.
_base_ = ['./_base_/distill_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.shufflenet_v1,
    teacher=_base_.cifar100_classifiers.wrn_40_2,
    teacher_ckpt='work_dirs/wrn-40-2_1xb128_cifar100/epoch_240.pth',
    distiller=_base_.cka_distillers_cifar100.lcka)
