# RCKA (CE + 5 FCKA + 5 (intra + inter) LCKA) from the ResNet-20 teacher trained by
# resnet20_1xb32_shapes.py to the ResNet-8 student of resnet8_1xb32_shapes.py, with
# the same data and schedule as the student alone.
_base_ = ['./_base_/shapes_cls_30e.py', '../_base_/cka_distillers.py']

model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=dict(
        _base_.data_preprocessor, type='mmpretrain.ClsDataPreprocessor'),
    architecture=_base_.shapes_classifiers.resnet8,
    teacher=_base_.shapes_classifiers.resnet20,
    teacher_ckpt='work_dirs/resnet20_1xb32_shapes/epoch_30.pth',
    distiller=_base_.cka_distillers.rcka)

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
