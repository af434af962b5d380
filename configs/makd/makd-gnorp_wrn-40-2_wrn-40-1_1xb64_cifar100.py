# mAKD(CS, L2, SL1) + GNoRP (r = 3.5), WRN-40-2 -> WRN-40-1 on CIFAR-100;
# Li & Maki, Tab. 1: 73.78 top-1 (mean of five runs).
_base_ = ['./_base_/makd_gnorp_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.wrn_40_1,
    teacher=_base_.cifar100_classifiers.wrn_40_2,
    teacher_ckpt='work_dirs/wrn-40-2_1xb128_cifar100/epoch_240.pth')
