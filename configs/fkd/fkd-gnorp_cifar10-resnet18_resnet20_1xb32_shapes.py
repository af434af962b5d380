# FKD + GNoRP (r = 1) across label spaces: mmpretrain's CIFAR-10 ResNet-18 (10
# classes) -> a CIFAR ResNet-20 learning the 4 classes of the embedded shapes dataset.
_base_ = ['./_base_/fkd_cifar10-teachers_shapes.py']

model = dict(
    teacher=dict(
        teachers=[_base_.cifar10_resnet18],
        checkpoints=[_base_.cifar10_resnet18_ckpt]))
