# KDA distillation from the ResNet-34 teacher on Tiny-ImageNet (paper Tab. 3). A pair
# config sets the student and the distiller:
#     model = dict(
#         architecture=_base_.kda_classifiers.tiny_imagenet.resnet18,
#         distiller=_base_.kda_distillers.tiny_imagenet.resnet18.before_fc)
# Train the teacher first with
# `python tools/train.py configs/kda/tiny-imagenet/resnet34_2xb128-120e_tiny-imagenet.py`
# (writes the teacher_ckpt below).
_base_ = [
    './tiny-imagenet_2xb128.py', './sgd-cosine_120e.py',
    './kda_models.py', './kda_distill.py'
]

model = dict(
    data_preprocessor=dict(
        _base_.data_preprocessor, type='mmpretrain.ClsDataPreprocessor'),
    teacher=_base_.kda_classifiers.tiny_imagenet.resnet34,
    teacher_ckpt='work_dirs/resnet34_2xb128-120e_tiny-imagenet/epoch_120.pth')

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
