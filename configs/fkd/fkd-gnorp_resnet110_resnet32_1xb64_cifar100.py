# FKD + GNoRP (r = 3.5), ResNet-110 -> ResNet-32 on CIFAR-100;
# a CRD / mAKD teacher-student pair.
_base_ = ['./_base_/fkd_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.resnet32,
    teacher=_base_.cifar100_classifiers.resnet110,
    teacher_ckpt='work_dirs/resnet110_1xb128_cifar100/epoch_240.pth')
