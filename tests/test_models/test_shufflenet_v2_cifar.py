"""ShuffleNetV2CIFAR: output shapes and parameter counts of the reference architecture
(pytorch-cifar100 ``models/shufflenetv2.py``: 3x3 stride-1 stem to 24 channels with BN,
stages of 4 / 8 / 4 units, last 1x1 conv; every conv with a bias), bad arguments."""
import pytest
import torch
from mmengine.registry import DefaultScope

import mmrazor_relkd  # noqa: F401  (registration)
from mmpretrain.registry import MODELS

WIDTHS = {0.5: (48, 96, 192, 1024), 1.0: (116, 232, 464, 1024),
          1.5: (176, 352, 704, 1024), 2.0: (244, 488, 976, 2048)}


def _build(**kwargs) -> torch.nn.Module:
    """The backbone in eval mode (mmpretrain's ``train()`` does not return it)."""
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(dict(type='ShuffleNetV2CIFAR', **kwargs))
    model.eval()
    return model


def _conv(cin: int, cout: int, k: int, groups: int = 1) -> int:
    return cin // groups * cout * k * k + cout  # weights + bias


def _bn(c: int) -> int:
    return 2 * c


def _expected_params(widen_factor: float) -> int:
    """Count of the reference architecture, term by term."""
    *stages, last = WIDTHS[widen_factor]
    total = _conv(3, 24, 3) + _bn(24)
    cin = 24
    for cout, units in zip(stages, (4, 8, 4)):
        half = cout // 2
        # downsampling unit: 1x1 / dw 3x3 / 1x1 branch and dw 3x3 / 1x1 projection
        total += (_conv(cin, cin, 1) + _bn(cin) + _conv(cin, cin, 3, cin) + _bn(cin)
                  + _conv(cin, half, 1) + _bn(half))
        total += _conv(cin, cin, 3, cin) + _bn(cin) + _conv(cin, half, 1) + _bn(half)
        # units - 1 splitting units on half the channels
        total += (units - 1) * (2 * (_conv(half, half, 1) + _bn(half))
                                + _conv(half, half, 3, half) + _bn(half))
        cin = cout
    return total + _conv(cin, last, 1) + _bn(last)


@pytest.mark.parametrize('widen_factor', sorted(WIDTHS))
def test_output_shapes_on_cifar_inputs(widen_factor):
    """32 -> 16 -> 8 -> 4 over the three stages, the last conv keeps 4 x 4."""
    model = _build(widen_factor=widen_factor, out_indices=(0, 1, 2, 3))
    outs = model(torch.zeros(2, 3, 32, 32))
    c1, c2, c3, last = WIDTHS[widen_factor]
    assert [tuple(o.shape) for o in outs] == [
        (2, c1, 16, 16), (2, c2, 8, 8), (2, c3, 4, 4), (2, last, 4, 4)]


@pytest.mark.parametrize('widen_factor', sorted(WIDTHS))
def test_parameter_count_is_the_reference_architectures(widen_factor):
    model = _build(widen_factor=widen_factor)
    assert sum(p.numel() for p in model.parameters()) == _expected_params(widen_factor)


def test_width_1_with_a_100_way_head_has_the_published_size():
    """pytorch-cifar100's README lists shufflenetv2 (width 1, CIFAR-100) at "1.3M";
    its model file has 1,360,896 parameters with the 100-way head."""
    params = sum(p.numel() for p in _build().parameters()) + 1024 * 100 + 100
    assert params == 1_360_896
    assert 1.3e6 <= params < 1.4e6


def test_default_returns_the_last_conv_only():
    outs = _build()(torch.zeros(1, 3, 32, 32))
    assert len(outs) == 1 and outs[0].shape == (1, 1024, 4, 4)


def test_output_halves_are_interleaved():
    """Channel shuffle of a splitting unit: the passed half lands on even channels."""
    model = _build()
    unit = model.layers[0][1]
    x = torch.randn(1, 116, 8, 8)
    out = unit(x)
    torch.testing.assert_close(out[:, 0::2], x[:, :58])


def test_bad_arguments_name_the_valid_values():
    with pytest.raises(ValueError, match=r'widen_factor must be one of '
                       r'\[0.5, 1.0, 1.5, 2.0\], got 0.75'):
        _build(widen_factor=0.75)
    with pytest.raises(ValueError, match=r'outputs 0-3; got out_indices=\(4,\)'):
        _build(out_indices=(4, ))
