# LCKA, VGG-13 (74.64) -> MobileNet-V2 (width 0.5) on CIFAR-100; paper Tab. 1: 69.37.
_base_ = ['./_base_/distill_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.mobilenet_v2_half,
    teacher=_base_.cifar100_classifiers.vgg13,
    teacher_ckpt='work_dirs/vgg13_1xb128_cifar100/epoch_240.pth',
    distiller=_base_.cka_distillers_cifar100.lcka)

# The released code starts MobileNet students at lr 0.01 (Solver.py); ALRS then warms
# every student up towards 0.1 (the paper's lr for all students).
optim_wrapper = dict(optimizer=dict(lr=0.01))
param_scheduler = dict(max_value=0.1)
