# WRN-40-2, a teacher of the paper's Tab. 1 (75.61% there), trained from scratch:
# no OpenMMLab checkpoint exists for the CIFAR distillation model family. The
# distillation configs load `work_dirs/wrn-40-2_1xb128_cifar100/epoch_240.pth`.
_base_ = ['../_base_/rcka_cifar100_240e.py']

model = _base_.cifar100_classifiers.wrn_40_2
