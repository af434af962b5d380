# FKD + GNoRP (r = 3.5), WRN-40-2 -> ShuffleNet-V1 on CIFAR-100;
# a CRD / mAKD teacher-student pair.
_base_ = ['./_base_/fkd_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.shufflenet_v1,
    teacher=_base_.cifar100_classifiers.wrn_40_2,
    teacher_ckpt='work_dirs/wrn-40-2_1xb128_cifar100/epoch_240.pth')

# lr 0.01 for the ShuffleNet / MobileNet students (CRD code base, Li & Maki, Sec. 4.5).
optim_wrapper = dict(optimizer=dict(lr=0.01))
