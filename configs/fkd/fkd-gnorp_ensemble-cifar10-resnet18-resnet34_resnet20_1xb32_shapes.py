# FKD + GNoRP (r = 1) across label spaces from an ensemble: mmpretrain's CIFAR-10
# ResNet-18 and ResNet-34 -> a CIFAR ResNet-20 learning the 4 classes of the embedded
# shapes dataset. The target is the mean of the two teachers' feature kernels.
_base_ = ['./_base_/fkd_cifar10-teachers_shapes.py']

model = dict(
    teacher=dict(
        teachers=[_base_.cifar10_resnet18, _base_.cifar10_resnet34],
        checkpoints=[_base_.cifar10_resnet18_ckpt, _base_.cifar10_resnet34_ckpt]))
