# mAKD(CS, L2, SL1) + GNoRP (r = 3.5), VGG-13 -> VGG-8 on CIFAR-100;
# Li & Maki, Tab. 1: 73.73 top-1 (mean of five runs).
_base_ = ['./_base_/makd_gnorp_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.vgg8,
    teacher=_base_.cifar100_classifiers.vgg13,
    teacher_ckpt='work_dirs/vgg13_1xb128_cifar100/epoch_240.pth')
