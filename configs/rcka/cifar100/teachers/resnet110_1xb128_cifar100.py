# ResNet-110, a teacher of the paper's Tab. 1 (74.31% there), trained from scratch:
# no OpenMMLab checkpoint exists for the CIFAR distillation model family. The
# distillation configs load `work_dirs/resnet110_1xb128_cifar100/epoch_240.pth`.
_base_ = ['../_base_/rcka_cifar100_240e.py']

model = _base_.cifar100_classifiers.resnet110
