# FKD + GNoRP (r = 3.5), VGG-13 -> VGG-8 on CIFAR-100;
# a CRD / mAKD teacher-student pair.
_base_ = ['./_base_/fkd_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.vgg8,
    teacher=_base_.cifar100_classifiers.vgg13,
    teacher_ckpt='work_dirs/vgg13_1xb128_cifar100/epoch_240.pth')
