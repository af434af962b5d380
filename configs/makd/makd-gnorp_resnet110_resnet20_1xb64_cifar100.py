# mAKD(CS, L2, SL1) + GNoRP (r = 3.5), ResNet-110 -> ResNet-20 on CIFAR-100;
# Li & Maki, Tab. 1: 70.39 top-1 (mean of five runs).
_base_ = ['./_base_/makd_gnorp_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.resnet20,
    teacher=_base_.cifar100_classifiers.resnet110,
    teacher_ckpt='work_dirs/resnet110_1xb128_cifar100/epoch_240.pth')
