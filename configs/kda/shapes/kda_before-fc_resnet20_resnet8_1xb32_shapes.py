# KDA before the last FC layer for the toy classification pair on the embedded "shapes"
# data set: the ResNet-20 teacher of configs/rcka/shapes/resnet20_1xb32_shapes.py (train
# it first) to the ResNet-8 student, whose baseline alone is
# configs/rcka/shapes/resnet8_1xb32_shapes.py; same data and 4-epoch schedule, KDA active
# after 1 warm-up epoch (4 classes: 4 landmarks).
_base_ = [
    '../../rcka/shapes/_base_/shapes_cls_4e.py', '../_base_/kda_models.py',
    '../_base_/kda_distill.py'
]

model = dict(
    data_preprocessor=dict(
        _base_.data_preprocessor, type='mmpretrain.ClsDataPreprocessor'),
    architecture=_base_.shapes_classifiers.resnet8,
    teacher=_base_.shapes_classifiers.resnet20,
    # trained by `tools/train.py configs/rcka/shapes/resnet20_1xb32_shapes.py` from the
    # repository root (its default work_dir); anchored at this file, not the cwd
    teacher_ckpt='{{ fileDirname }}/../../../work_dirs/resnet20_1xb32_shapes/epoch_4.pth',
    distiller=_base_.kda_distillers.shapes.resnet8.before_fc)

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

# The base's tables of every dataset's models, used above, are left out of this
# config: mmengine formats the whole config into every checkpoint and the work dir,
# and with them each save took about 5 s.
kda_classifiers = None
kda_distillers = None
