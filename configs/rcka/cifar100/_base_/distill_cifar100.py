# FCKA / LCKA / RCKA distillation on CIFAR-100 (paper Tab. 1). A pair config sets
# the student (`architecture`), the teacher, its checkpoint and the method:
#     model = dict(
#         architecture=_base_.cifar100_classifiers.resnet20,
#         teacher=_base_.cifar100_classifiers.resnet110,
#         teacher_ckpt='work_dirs/resnet110_1xb128_cifar100/epoch_240.pth',
#         distiller=_base_.cka_distillers.rcka)
# No OpenMMLab checkpoints exist for the CIFAR teachers: train them first with the
# configs in `teachers/`: `python tools/train.py configs/rcka/cifar100/teachers/<name>.py`
# writes `work_dirs/<name>/epoch_240.pth`.
_base_ = ['./cifar100_bs128_240e.py', '../../_base_/cka_distillers.py']

model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=dict(
        _base_.data_preprocessor, type='mmpretrain.ClsDataPreprocessor'))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
