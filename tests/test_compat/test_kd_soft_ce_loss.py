"""mmrazor's KDSoftCELoss works without mmcls: values and gradients of soft-target CE."""
import importlib.util

import pytest
import torch
from mmrazor.registry import MODELS

from mmrazor_relkd.compat import provide_soft_cross_entropy


def _reference(preds_s, preds_t, tau, loss_weight, reduction):
    """Hinton's soft-target cross-entropy, written out per sample and class."""
    rows = []
    for s, t in zip(preds_s, preds_t):
        target = torch.exp(t / tau) / torch.exp(t / tau).sum()
        log_p = s / tau - torch.log(torch.exp(s / tau).sum())
        rows.append(-(target * log_p).sum())
    per_sample = torch.stack(rows) * tau**2 * loss_weight
    return dict(mean=per_sample.mean(), sum=per_sample.sum(), none=per_sample)[reduction]


def test_mmcls_is_absent_and_the_shim_is_applied_once():
    assert importlib.util.find_spec('mmcls') is None
    assert provide_soft_cross_entropy() is False


@pytest.mark.parametrize('reduction', ['mean', 'sum', 'none'])
def test_kd_soft_ce_matches_the_definition(reduction):
    gen = torch.Generator().manual_seed(0)
    preds_s = torch.randn(5, 7, generator=gen, dtype=torch.float64, requires_grad=True)
    preds_t = torch.randn(5, 7, generator=gen, dtype=torch.float64)
    loss = MODELS.build(dict(type='KDSoftCELoss', tau=2.5, loss_weight=0.3,
                             reduction=reduction))
    value = loss(preds_s, preds_t)
    expected = _reference(preds_s, preds_t, 2.5, 0.3, reduction)
    torch.testing.assert_close(value, expected)

    grad, = torch.autograd.grad(value.sum(), preds_s)
    expected_grad, = torch.autograd.grad(expected.sum(), preds_s)
    torch.testing.assert_close(grad, expected_grad)
    assert grad.abs().sum() > 0
