# mAKD(CS, L2, SL1) + GNoRP (r = 3.5), WRN-40-2 -> ShuffleNet-V1 on CIFAR-100;
# Li & Maki, Tab. 1: 76.15 top-1 (mean of five runs).
_base_ = ['./_base_/makd_gnorp_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.shufflenet_v1,
    teacher=_base_.cifar100_classifiers.wrn_40_2,
    teacher_ckpt='work_dirs/wrn-40-2_1xb128_cifar100/epoch_240.pth')

# lr 0.01 for the ShuffleNet / MobileNet students (CRD code base, Li & Maki, Sec. 4.5).
optim_wrapper = dict(optimizer=dict(lr=0.01))
