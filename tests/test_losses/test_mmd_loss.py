"""MMDLoss (the paper's "MMD w/ patch" baseline) against the slow float64 reference."""
import pytest
import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor.registry import MODELS
from mmrazor_relkd.functional.patch_mmd import mean_kernel_discrepancy
from mmrazor_relkd.models.losses.mmd_loss import MMDLoss
from mmrazor_relkd.models.losses.pcka_loss import PCKALoss
from pcka_reference import (PATCH, REDUCES, SIZES, loss_and_grad,
                            random_levels, reference_mean_kernel_discrepancy,
                            reference_mmd_loss)


def test_built_from_registry():
    loss = MODELS.build(dict(type='MMDLoss', loss_weight=2.0, patch_size=8, reduce='batch'))
    assert isinstance(loss, MMDLoss)
    assert (loss.loss_weight, loss.patch_size, loss.reduce) == (2.0, (8, 8), 'batch')


@pytest.mark.parametrize('shape', [(5, 7), (9, 3)])  # n <= d and n > d branches
def test_discrepancy_matches_reference(shape):
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, *shape, generator=gen, dtype=torch.float64) + 0.2
    y = torch.randn(3, shape[0], 4, generator=gen, dtype=torch.float64)
    expected = torch.stack([reference_mean_kernel_discrepancy(x[g], y[g]) for g in range(3)])
    torch.testing.assert_close(mean_kernel_discrepancy(x, y), expected)


@pytest.mark.parametrize('reduce', REDUCES)
@pytest.mark.parametrize('size', SIZES)
@pytest.mark.parametrize('batch', [1, 2])
def test_value_and_gradient_match_reference(reduce, size, batch):
    student, teacher = random_levels(SIZES[size], batch=batch)
    loss, grad = loss_and_grad(MMDLoss(1.5, PATCH, reduce), student, teacher)
    ref, ref_grad = loss_and_grad(
        lambda s, t: reference_mmd_loss([s], [t], 1.5, PATCH, reduce), student, teacher)
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(grad, ref_grad)


@pytest.mark.parametrize('reduce', REDUCES)
def test_gradcheck(reduce):
    student, teacher = random_levels(SIZES['rounded'], channels=2)
    student.requires_grad_()
    loss_fn = MMDLoss(1.0, PATCH, reduce)
    assert torch.autograd.gradcheck(lambda s: loss_fn(s, teacher), (student, ))


@pytest.mark.parametrize('reduce', REDUCES)
def test_bounded_by_pcka_and_invariant_to_scaling(reduce):
    """Theorem 2: n^2/2 (mean K^_T - mean K^_S)^2 <= 1 - CKA for every group."""
    student, teacher = random_levels(SIZES['rounded'], seed=4)
    student = student - 0.8 * student.mean()  # a visible gap in the kernel means
    mmd = MMDLoss(1.0, PATCH, reduce)
    value = mmd(student, teacher)
    assert 0 < value <= PCKALoss(1.0, patch_size=PATCH, reduce=reduce)(student, teacher)
    assert value <= 0.5
    torch.testing.assert_close(mmd(5.0 * student, 0.1 * teacher), value)
    torch.testing.assert_close(mmd(teacher, teacher), torch.zeros((), dtype=torch.float64))


def test_levels_are_summed():
    levels = [random_levels(SIZES['rounded'], seed=s) for s in (5, 6)]
    loss_fn = MMDLoss(2.0, PATCH)
    students, teachers = zip(*levels)
    torch.testing.assert_close(loss_fn(students, list(teachers)),
                               sum(loss_fn(s, t) for s, t in levels))


def test_all_zero_groups_give_finite_loss_and_gradient():
    student, teacher = random_levels(SIZES['multiple'], dtype=torch.float32)
    student[:, 0] = 0.0
    zero = torch.zeros_like(student, requires_grad=True)
    for level_s in (student.requires_grad_(), zero):
        loss = MMDLoss(1.0, PATCH)(level_s, teacher)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(level_s.grad).all()


def test_autocast_bfloat16_computes_in_float32():
    student, teacher = random_levels(SIZES['rounded'], dtype=torch.float32)
    loss_fn = MMDLoss(1.0, PATCH)
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        loss = loss_fn(student.bfloat16(), teacher.bfloat16())
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, loss_fn(student.bfloat16().float(),
                                             teacher.bfloat16().float()))


def test_errors():
    student, teacher = random_levels(SIZES['multiple'])
    with pytest.raises(ValueError, match='(?s)channel mismatch.*ConvModuleConnector'):
        MMDLoss(1.0, PATCH)(student, teacher[:, :2])
    with pytest.raises(ValueError, match='same groups and rows'):
        mean_kernel_discrepancy(torch.randn(2, 4, 3), torch.randn(2, 5, 3))
    with pytest.raises(ValueError, match='reduce must be one of'):
        MMDLoss(reduce='mean')
