# The CIFAR-100 networks of the paper's Tab. 1 (the CRD model family, Tian et al.,
# ICLR 2020), each an mmpretrain ImageClassifier: backbone, global average pooling,
# 100-way linear head. Parameter counts (with the head) are checked in
# tests/test_models/test_backbones.py. A config picks one by name:
# `model = _base_.cifar100_classifiers.resnet110`.


def _classifier(backbone: dict, feat_channels: int) -> dict:
    return dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=100,
            in_channels=feat_channels,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


cifar100_classifiers = dict(
    resnet20=_classifier(dict(type='ResNetCIFAR6n2', depth=20), 64),
    resnet32=_classifier(dict(type='ResNetCIFAR6n2', depth=32), 64),
    resnet110=_classifier(dict(type='ResNetCIFAR6n2', depth=110), 64),
    resnet8x4=_classifier(
        dict(type='ResNetCIFAR6n2', depth=8, stem_channels=32,
             base_channels=64), 256),
    resnet32x4=_classifier(
        dict(type='ResNetCIFAR6n2', depth=32, stem_channels=32,
             base_channels=64), 256),
    wrn_16_2=_classifier(
        dict(type='WideResNetCIFAR', depth=16, widen_factor=2), 128),
    wrn_40_1=_classifier(
        dict(type='WideResNetCIFAR', depth=40, widen_factor=1), 64),
    wrn_40_2=_classifier(
        dict(type='WideResNetCIFAR', depth=40, widen_factor=2), 128),
    vgg8=_classifier(dict(type='VGGCIFAR', depth=8), 512),
    vgg13=_classifier(dict(type='VGGCIFAR', depth=13), 512),
    shufflenet_v1=_classifier(dict(type='ShuffleNetV1CIFAR', groups=3), 960),
    mobilenet_v2_half=_classifier(
        dict(type='MobileNetV2CIFAR', widen_factor=0.5), 1280),
)
