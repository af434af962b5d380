# The toy ResNet-20 -> ResNet-8 pair on the embedded "shapes" crops, for the methods of
# the suite configs/benchmarks/shapes_classification.py: mmrazor's SingleTeacherDistill
# with the teacher of configs/rcka/shapes/resnet20_1xb32_shapes.py (the suite trains it
# once and sets teacher_ckpt), the data and training budget of the plain student
# (configs/rcka/shapes/resnet8_1xb32_shapes.py), and the recorders the method configs
# share. A method config adds `model = dict(distiller=...)`.
_base_ = ['../../../rcka/shapes/_base_/shapes_cls_4e.py']

model = dict(
    _scope_='mmrazor',
    type='SingleTeacherDistill',
    data_preprocessor=dict(
        _base_.data_preprocessor, type='mmpretrain.ClsDataPreprocessor'),
    architecture=_base_.shapes_classifiers.resnet8,
    teacher=_base_.shapes_classifiers.resnet20,
    teacher_ckpt='{{ fileDirname }}/../../../../work_dirs/resnet20_1xb32_shapes/epoch_4.pth')
find_unused_parameters = True
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

# the pooled penultimate features (`neck`, 64-d for both networks); the baselines'
# recorders are in ../../_base_/classification_baselines.py
pooled_recorder = dict(type='ModuleOutputs', source='neck')
# preds_S / preds_T of a loss on the pooled features
pooled_features = dict(
    preds_S=dict(from_student=True, recorder='feat', data_idx=-1),
    preds_T=dict(from_student=False, recorder='feat', data_idx=-1))
