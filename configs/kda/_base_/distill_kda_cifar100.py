# KDA distillation from the ResNet-34 teacher on CIFAR-100 (paper Tab. 2). A pair
# config sets the student and the distiller:
#     model = dict(
#         architecture=_base_.kda_classifiers.cifar100.resnet18,
#         distiller=_base_.kda_distillers.cifar100.resnet18.before_fc)
# No OpenMMLab checkpoint exists for a CIFAR-100 ResNet-34: train it first with
# `python tools/train.py configs/kda/cifar100/resnet34_2xb128-120e_cifar100.py`
# (writes the teacher_ckpt below).
_base_ = [
    './cifar100_2xb128.py', './sgd-cosine_120e.py',
    './kda_models.py', './kda_distill.py'
]

custom_imports = dict(imports=['mmrazor_relkd'], allow_failed_imports=False)

model = dict(
    data_preprocessor=dict(
        _base_.data_preprocessor, type='mmpretrain.ClsDataPreprocessor'),
    teacher=_base_.kda_classifiers.cifar100.resnet34,
    teacher_ckpt='work_dirs/resnet34_2xb128-120e_cifar100/epoch_120.pth')

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
