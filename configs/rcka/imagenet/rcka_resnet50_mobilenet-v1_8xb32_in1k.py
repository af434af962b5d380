# RCKA, ResNet-50 -> MobileNet-V1 on ImageNet-1k; paper Tab. 2: 73.24 top-1. The
# paper's teacher is torchvision's ResNet-50 (76.16 top-1); this is the same
# architecture from the mmpretrain model zoo (resnet50_8xb32_in1k, 76.55 top-1).
# MobileNet-V1 is this package's backbone (mmpretrain has none).
_base_ = ['./_base_/distill_8xb32_in1k.py']
# After _base_ (mmengine reads this file as a plain config): full model dicts.
from mmengine.hub import get_config  # noqa: E402

teacher_ckpt = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet50_8xb32_in1k_20210831-ea4938fc.pth'  # noqa: E501

model = dict(
    architecture=dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='MobileNetV1'),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=1000,
            in_channels=1024,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5))),
    teacher=dict(
        _scope_='mmpretrain',
        **get_config('mmpretrain::resnet/resnet50_8xb32_in1k.py').model),
    teacher_ckpt=teacher_ckpt,
    distiller=_base_.cka_distillers.rcka)
