"""The CIFAR distillation backbones and MobileNet V1: same function as the reference
networks, stage shapes, parameter counts against published numbers, bad arguments."""
from typing import Callable, Dict, List, NamedTuple, Tuple

import pytest
import torch
from torch import nn

import mmrazor_relkd  # noqa: F401  (compat shims + registration)
import cifar_reference_models as ref
from mmpretrain.registry import MODELS


class Case(NamedTuple):
    backbone: dict
    reference: Callable[[int], nn.Module]  # num_classes -> reference network
    input_size: int  # of the test input (MobileNet V1: 224 / 64 of ImageNet's)
    stage_shapes: List[Tuple[int, int, int]]  # (C, H, W) of every stage
    num_classes: int  # of the dataset the network is used on
    params_with_head: int  # backbone + linear head, derived from the reference


CASES: Dict[str, Case] = {
    'resnet20': Case(
        dict(type='ResNetCIFAR6n2', depth=20),
        lambda k: ref.ResNet(20, [16, 16, 32, 64], k), 32,
        [(16, 32, 32), (32, 16, 16), (64, 8, 8)], 100, 278_324),
    'resnet32': Case(
        dict(type='ResNetCIFAR6n2', depth=32),
        lambda k: ref.ResNet(32, [16, 16, 32, 64], k), 32,
        [(16, 32, 32), (32, 16, 16), (64, 8, 8)], 100, 472_756),
    'resnet56': Case(
        dict(type='ResNetCIFAR6n2', depth=56),
        lambda k: ref.ResNet(56, [16, 16, 32, 64], k), 32,
        [(16, 32, 32), (32, 16, 16), (64, 8, 8)], 100, 861_620),
    'resnet110': Case(
        dict(type='ResNetCIFAR6n2', depth=110),
        lambda k: ref.ResNet(110, [16, 16, 32, 64], k), 32,
        [(16, 32, 32), (32, 16, 16), (64, 8, 8)], 100, 1_736_564),
    'resnet8x4': Case(
        dict(type='ResNetCIFAR6n2', depth=8, stem_channels=32, base_channels=64),
        lambda k: ref.ResNet(8, [32, 64, 128, 256], k), 32,
        [(64, 32, 32), (128, 16, 16), (256, 8, 8)], 100, 1_233_540),
    'resnet32x4': Case(
        dict(type='ResNetCIFAR6n2', depth=32, stem_channels=32, base_channels=64),
        lambda k: ref.ResNet(32, [32, 64, 128, 256], k), 32,
        [(64, 32, 32), (128, 16, 16), (256, 8, 8)], 100, 7_433_860),
    'wrn_40_2': Case(
        dict(type='WideResNetCIFAR', depth=40, widen_factor=2),
        lambda k: ref.WideResNet(40, 2, k), 32,
        [(32, 32, 32), (64, 16, 16), (128, 8, 8)], 100, 2_255_156),
    'wrn_40_1': Case(
        dict(type='WideResNetCIFAR', depth=40, widen_factor=1),
        lambda k: ref.WideResNet(40, 1, k), 32,
        [(16, 32, 32), (32, 16, 16), (64, 8, 8)], 100, 569_780),
    'wrn_16_2': Case(
        dict(type='WideResNetCIFAR', depth=16, widen_factor=2),
        lambda k: ref.WideResNet(16, 2, k), 32,
        [(32, 32, 32), (64, 16, 16), (128, 8, 8)], 100, 703_284),
    'vgg8': Case(
        dict(type='VGGCIFAR', depth=8), lambda k: ref.VGG(8, k), 32,
        [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4), (512, 4, 4)],
        100, 3_965_028),
    'vgg13': Case(
        dict(type='VGGCIFAR', depth=13), lambda k: ref.VGG(13, k), 32,
        [(64, 32, 32), (128, 16, 16), (256, 8, 8), (512, 4, 4), (512, 4, 4)],
        100, 9_462_180),
    'shufflenet_v1': Case(
        dict(type='ShuffleNetV1CIFAR', groups=3), lambda k: ref.ShuffleNetV1(k),
        32, [(240, 16, 16), (480, 8, 8), (960, 4, 4)], 100, 949_258),
    'mobilenet_v2_half': Case(
        dict(type='MobileNetV2CIFAR', widen_factor=0.5),
        lambda k: ref.MobileNetV2(6, k, 0.5), 32,
        [(8, 16, 16), (12, 16, 16), (16, 8, 8), (32, 4, 4), (48, 4, 4),
         (80, 2, 2), (160, 2, 2), (1280, 2, 2)], 100, 812_836),
    'mobilenet_v1': Case(
        dict(type='MobileNetV1'), lambda k: ref.MobileNetV1(k), 64,
        [(128, 16, 16), (256, 8, 8), (512, 4, 4), (1024, 2, 2)], 1000,
        4_231_976),
}

# Numbers printed in the architectures' own papers, in millions, for the number of
# classes of those papers, and the precision they were printed with:
# He et al. 2016 (Sec. 4.2 / Tab. 6, CIFAR-10, identity shortcuts with zero padding,
# "option A", so the 1x1 projection shortcuts of the distillation code base are not
# counted), Zagoruyko & Komodakis 2016 (Tab. 4, CIFAR-10), Howard et al. 2017
# (Tab. 8, ImageNet).
PUBLISHED = {
    'resnet20': (10, 0.27, 2),
    'resnet32': (10, 0.46, 2),
    'resnet56': (10, 0.85, 2),
    'resnet110': (10, 1.7, 1),
    'wrn_40_1': (10, 0.6, 1),
    'wrn_40_2': (10, 2.2, 1),
    'mobilenet_v1': (1000, 4.2, 1),
}
PUBLISHED_WIDER_WRN = {  # Zagoruyko & Komodakis 2016, Tab. 4
    (40, 4): 8.9, (40, 8): 35.7, (28, 10): 36.5, (16, 8): 11.0, (22, 8): 17.2,
}


@pytest.fixture(autouse=True)
def _mmpretrain_scope():
    """Build in mmpretrain's scope whatever default scope earlier tests left."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def _build(backbone: dict, **overrides) -> nn.Module:
    return MODELS.build(dict(backbone, **overrides))


def _num_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _feat_channels(case: Case) -> int:
    return case.stage_shapes[-1][0]


def _load_reference_weights(backbone: nn.Module, reference: nn.Module) -> None:
    """Copy the reference's tensors (without its classifier) in registration order;
    every pair must agree in shape, which pins the layer structure."""
    src = [(k, v) for k, v in reference.state_dict().items()
           if not k.startswith(('fc.', 'classifier.', 'linear.'))]
    dst = list(backbone.state_dict().items())
    assert len(src) == len(dst), (len(src), len(dst))
    for (src_key, src_val), (dst_key, dst_val) in zip(src, dst):
        assert src_val.shape == dst_val.shape, (src_key, dst_key)
    backbone.load_state_dict({k: v for (k, _), (_, v) in zip(dst, src)})


@pytest.mark.parametrize('name', list(CASES))
def test_backbone_computes_the_reference_network(name):
    """Same last feature map as the reference with its weights; stage shapes."""
    case = CASES[name]
    torch.manual_seed(0)
    reference = case.reference(case.num_classes).train()
    all_stages = tuple(range(len(case.stage_shapes)))
    backbone = _build(case.backbone, out_indices=all_stages)
    backbone.train()  # mmpretrain's BaseBackbone.train returns None
    _load_reference_weights(backbone, reference)
    x = torch.randn(2, 3, case.input_size, case.input_size)

    with torch.no_grad():
        expected, _ = reference(x)
        outs = backbone(x)

    assert isinstance(outs, tuple)
    assert [tuple(out.shape[1:]) for out in outs] == case.stage_shapes
    # training-mode BN keeps every activation O(1): float32 rounding only
    torch.testing.assert_close(outs[-1], expected, rtol=1e-4, atol=1e-4)
    assert _build(case.backbone).out_indices == (all_stages[-1], )


@pytest.mark.parametrize('name', list(CASES))
def test_parameter_count_with_linear_head(name):
    case = CASES[name]
    head = _feat_channels(case) * case.num_classes + case.num_classes

    count = _num_params(_build(case.backbone)) + head

    assert count == _num_params(case.reference(case.num_classes))
    assert count == case.params_with_head


@pytest.mark.parametrize('name', list(PUBLISHED))
def test_parameter_count_matches_the_published_one(name):
    case = CASES[name]
    num_classes, published_millions, digits = PUBLISHED[name]
    backbone = _build(case.backbone)
    projection_shortcuts = sum(
        p.numel() for key, p in backbone.named_parameters()
        if 'downsample' in key)
    head = _feat_channels(case) * num_classes + num_classes

    count = _num_params(backbone) - projection_shortcuts + head

    assert round(count / 1e6, digits) == published_millions


@pytest.mark.parametrize('depth,widen_factor', list(PUBLISHED_WIDER_WRN))
def test_wide_resnet_parameter_count_matches_the_published_one(
        depth, widen_factor):
    backbone = _build(
        dict(type='WideResNetCIFAR', depth=depth, widen_factor=widen_factor))
    count = _num_params(backbone) + 64 * widen_factor * 10 + 10

    assert round(count / 1e6, 1) == PUBLISHED_WIDER_WRN[(depth, widen_factor)]


def test_classifier_of_backbone_pooling_and_linear_head_trains():
    """mmpretrain's ImageClassifier composes the backbones like its own."""
    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    classifier = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='WideResNetCIFAR', depth=16, widen_factor=1),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(type='LinearClsHead', num_classes=10, in_channels=64)))
    classifier.init_weights()
    inputs = torch.randn(4, 3, 32, 32)
    samples = [DataSample().set_gt_label(i % 10) for i in range(4)]

    losses = classifier(inputs, samples, mode='loss')
    losses['loss'].backward()

    assert torch.isfinite(losses['loss'])
    assert all(p.grad is not None and torch.isfinite(p.grad).all()
               for p in classifier.backbone.parameters())
    # the default init_cfg: Kaiming-normal convs (fan_out, ReLU gain), unlike
    # PyTorch's default uniform init with a 3x smaller spread
    conv = classifier.backbone.stages[2][1].conv2
    fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
    assert conv.weight.std().item() == pytest.approx((2 / fan_out)**0.5,
                                                     rel=0.05)


@pytest.mark.parametrize('backbone,message', [
    (dict(type='ResNetCIFAR6n2', depth=18), r'depth = 6n \+ 2 .* got 18'),
    (dict(type='ResNetCIFAR6n2', depth=2), r'depth = 6n \+ 2 .* got 2'),
    (dict(type='WideResNetCIFAR', depth=30), r'depth = 6n \+ 4 .* got 30'),
    (dict(type='WideResNetCIFAR', depth=22, out_indices=(3, )),
     r'stages 0, 1, 2; got out_indices=\(3,\)'),
    (dict(type='VGGCIFAR', depth=10), r'depth must be one of \[8, 11, 13, 16, '
     r'19\], got 10'),
    (dict(type='VGGCIFAR', depth=8, out_indices=(5, )), r'stages 0-4'),
    (dict(type='ShuffleNetV1CIFAR', groups=4), r'groups must be one of '
     r'\[1, 2, 3\], got 4'),
    (dict(type='ShuffleNetV1CIFAR', out_indices=(-1, )), r'stages 0, 1, 2'),
    (dict(type='MobileNetV2CIFAR', out_indices=(8, )), r'outputs 0-7'),
    (dict(type='MobileNetV1', out_indices=(4, )), r'stages 0-3'),
])
def test_bad_arguments_raise_a_clear_error(backbone, message):
    with pytest.raises(ValueError, match=message):
        MODELS.build(backbone)
