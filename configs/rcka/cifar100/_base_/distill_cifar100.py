# FCKA / LCKA / RCKA distillation on CIFAR-100 (paper Tab. 1). A pair config sets
# the student (`architecture`), the teacher, its checkpoint and the method:
#     model = dict(
#         architecture=_base_.cifar100_classifiers.resnet20,
#         teacher=_base_.cifar100_classifiers.resnet110,
#         teacher_ckpt='work_dirs/resnet110_1xb128_cifar100/epoch_240.pth',
#         distiller=_base_.cka_distillers_cifar100.rcka)
# No OpenMMLab checkpoints exist for the CIFAR teachers: train them first with the
# configs in `teachers/`: `python tools/train.py configs/rcka/cifar100/teachers/<name>.py`
# writes `work_dirs/<name>/epoch_240.pth`.
_base_ = ['./rcka_cifar100_240e.py', '../../_base_/cka_distillers.py']

model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=dict(
        _base_.data_preprocessor, type='mmpretrain.ClsDataPreprocessor'),
    # The released code runs the teacher in train mode during distillation
    # (Solver.py `self.teacher.train()`): its BatchNorm layers normalise with the
    # batch's statistics and update their running statistics (without gradients).
    # mmrazor's default (`teacher_norm_eval=True`) keeps them in eval mode instead.
    teacher_norm_eval=False)

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
