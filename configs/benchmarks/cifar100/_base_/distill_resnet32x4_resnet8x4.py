# The ResNet-32x4 -> ResNet-8x4 CIFAR-100 pair for the baselines of the benchmark suite
# (configs/benchmarks/cifar100_resnet32x4_resnet8x4.py): mmrazor's SingleTeacherDistill,
# the teacher of configs/rcka/cifar100/teachers/resnet32x4_1xb128_cifar100.py (the
# suite trains it once and sets teacher_ckpt) and recorder definitions the method
# configs share. A method config adds `model = dict(distiller=...)`.
_base_ = ['../../../rcka/cifar100/_base_/distill_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.resnet8x4,
    teacher=_base_.cifar100_classifiers.resnet32x4,
    teacher_ckpt='work_dirs/resnet32x4_1xb128_cifar100/epoch_240.pth')

# the labels (second input of the student's `head.loss_module`: data_idx=1); the
# baselines' recorders are in ../../_base_/classification_baselines.py
labels_recorder = dict(type='ModuleInputs', source='head.loss_module')
