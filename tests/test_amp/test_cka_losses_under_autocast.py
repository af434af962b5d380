"""PCKA, FCKA and LCKA under CPU autocast (bfloat16) give their float32 values.

Two ways a loss meets autocast in training: float32 inputs while autocast is active
(the loss must not run its products in bfloat16: the value stays within 1e-5 relative
of the float32 one, well inside the 1e-3 asked for), and bfloat16 inputs, the output
of autocast layers (the loss must compute in float32: the value is the float32 value of
those bfloat16 features). What the rounding of the features to bfloat16 itself changes
is the network's precision, not the loss's: up to about 3e-3 relative on these inputs
(LCKA on softened logits, whose CKA is close to 1).
"""
import pytest
import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor.registry import MODELS


def _randn(*shape, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def _related(*shape, seed: int) -> tuple:
    """Student and teacher inputs that share part of their structure (a typical,
    partly aligned pair: CKA neither ~0 nor ~1)."""
    common = _randn(*shape, seed=seed)
    return (common + 0.8 * _randn(*shape, seed=seed + 1),
            common + 0.8 * _randn(*shape, seed=seed + 2))


def _inputs(name: str):
    if name == 'PCKALoss':  # two FPN levels of 4 images, 16 channels
        levels = [_related(4, 16, 16, 16, seed=0), _related(4, 16, 8, 8, seed=3)]
        return [s for s, _ in levels], [t for _, t in levels]
    if name == 'FCKALoss':  # last-stage maps of 16 images, other widths per side
        student, teacher = _related(16, 32, 4, 4, seed=6)
        return student[:, :16], teacher
    student, teacher = _related(16, 4, seed=9)  # logits of 16 images, 4 classes
    return 3 * student, 3 * teacher


CASES = [
    dict(type='PCKALoss', loss_weight=10.0, patch_size=4),
    dict(type='PCKALoss', loss_weight=10.0, inter_weight=10.0, patch_size=(4, 2)),
    dict(type='PCKALoss', loss_weight=10.0, patch_size=4, reduce='batch', centered=True,
         row_norm=True),
    dict(type='FCKALoss', loss_weight=5.0),
    dict(type='FCKALoss', loss_weight=5.0, centered=True, row_norm=True),
    dict(type='LCKALoss', loss_weight=5.0, inter_weight=5.0, tau=4.0),
    dict(type='LCKALoss', loss_weight=5.0, inter_weight=5.0, centered=True),
]


def _case_id(case: dict) -> str:
    return '-'.join(f'{value}' if key == 'type' else f'{key}={value}'
                    for key, value in case.items())


def _bf16(x):
    return [t.bfloat16() for t in x] if isinstance(x, list) else x.bfloat16()


def _float(x):
    return [t.float() for t in x] if isinstance(x, list) else x.float()


@pytest.mark.parametrize('case', CASES, ids=_case_id)
def test_float32_inputs_under_autocast_give_the_float32_value(case):
    loss = MODELS.build(case)
    student, teacher = _inputs(case['type'])
    expected = loss(student, teacher)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        value = loss(student, teacher)
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(expected.item(), rel=1e-5)


@pytest.mark.parametrize('case', CASES, ids=_case_id)
def test_bfloat16_features_under_autocast_give_their_float32_value(case):
    loss = MODELS.build(case)
    student, teacher = (_bf16(x) for x in _inputs(case['type']))
    expected = loss(_float(student), _float(teacher))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        value = loss(student, teacher)
    assert value.dtype == torch.float32
    assert value.item() == pytest.approx(expected.item(), rel=1e-6)
