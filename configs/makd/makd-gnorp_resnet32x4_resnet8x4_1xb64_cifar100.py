# mAKD(CS, L2, SL1) + GNoRP (r = 3.5), ResNet-32x4 -> ResNet-8x4 on CIFAR-100;
# Li & Maki, Tab. 1: 74.60 top-1 (mean of five runs).
_base_ = ['./_base_/makd_gnorp_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.resnet8x4,
    teacher=_base_.cifar100_classifiers.resnet32x4,
    teacher_ckpt='work_dirs/resnet32x4_1xb128_cifar100/epoch_240.pth')
