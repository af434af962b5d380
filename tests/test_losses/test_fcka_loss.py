"""FCKALoss against a float64 reference, gradcheck, invariances, precision, errors."""
import itertools

import pytest
import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor.registry import MODELS
from mmrazor_relkd.models.losses.fcka_loss import FCKALoss
from rcka_reference import reference_fcka_loss

OPTIONS = list(itertools.product([False, True], [False, True]))  # (row_norm, centered)


def _features(seed: int = 0, dtype: torch.dtype = torch.float64):
    """Student (6, 3, 4, 4) and teacher (6, 5, 2, 2) maps: different sizes, same batch."""
    gen = torch.Generator().manual_seed(seed)
    student = torch.randn(6, 3, 4, 4, generator=gen, dtype=dtype)
    teacher = torch.randn(6, 5, 2, 2, generator=gen, dtype=dtype)
    # positive shift so that the uncentered Gram rows are far from orthogonal
    return student + 0.5, teacher + 0.5


def test_built_from_registry():
    loss = MODELS.build(dict(type='FCKALoss', loss_weight=5.0, row_norm=True))
    assert isinstance(loss, FCKALoss)
    assert (loss.loss_weight, loss.row_norm, loss.centered) == (5.0, True, False)


@pytest.mark.parametrize('row_norm,centered', OPTIONS)
def test_value_and_gradient_match_reference(row_norm, centered):
    student, teacher = _features()
    student.requires_grad_(True)
    loss = FCKALoss(loss_weight=2.5, row_norm=row_norm, centered=centered)(student, teacher)
    (grad,) = torch.autograd.grad(loss, student)

    ref_student = student.detach().clone().requires_grad_(True)
    ref = reference_fcka_loss(ref_student, teacher, 2.5, row_norm, centered)
    (ref_grad,) = torch.autograd.grad(ref, ref_student)

    assert loss.shape == ()
    torch.testing.assert_close(loss, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-8, atol=1e-12)
    assert 0.0 < loss.item() < 2.5


@pytest.mark.parametrize('row_norm,centered', OPTIONS)
def test_gradcheck(row_norm, centered):
    student, teacher = _features(seed=1)
    student = student[:4, :, :2].clone().requires_grad_(True)
    loss = FCKALoss(loss_weight=1.5, row_norm=row_norm, centered=centered)
    assert torch.autograd.gradcheck(lambda s: loss(s, teacher[:4]), (student,))


@pytest.mark.parametrize('row_norm,centered', OPTIONS)
def test_invariant_to_feature_scale(row_norm, centered):
    student, teacher = _features(seed=2)
    loss = FCKALoss(row_norm=row_norm, centered=centered)
    torch.testing.assert_close(loss(7.0 * student, 0.01 * teacher), loss(student, teacher))


@pytest.mark.parametrize('row_norm,centered', OPTIONS)
def test_invariant_to_orthogonal_rotation_of_features(row_norm, centered):
    student, teacher = _features(seed=3)
    flat_s, flat_t = student.reshape(6, -1), teacher.reshape(6, -1)
    gen = torch.Generator().manual_seed(4)
    rot_s = torch.linalg.qr(torch.randn(flat_s.shape[1], flat_s.shape[1], generator=gen,
                                        dtype=torch.float64))[0]
    rot_t = torch.linalg.qr(torch.randn(flat_t.shape[1], flat_t.shape[1], generator=gen,
                                        dtype=torch.float64))[0]
    loss = FCKALoss(row_norm=row_norm, centered=centered)
    rotated = loss((flat_s @ rot_s).reshape(student.shape), flat_t @ rot_t)
    torch.testing.assert_close(rotated, loss(student, teacher))


def test_invariant_to_joint_sample_permutation():
    student, teacher = _features(seed=5)
    perm = torch.tensor([3, 0, 5, 1, 4, 2])
    loss = FCKALoss(row_norm=True, centered=True)
    torch.testing.assert_close(loss(student[perm], teacher[perm]), loss(student, teacher))


def test_same_relations_give_zero_loss_and_other_relations_do_not():
    student, _ = _features(seed=6)
    loss = FCKALoss(loss_weight=3.0)
    torch.testing.assert_close(loss(student, 4.0 * student),
                               torch.zeros((), dtype=torch.float64))
    assert loss(student, torch.flip(student, dims=[0]) + 1).item() > 1e-3


def test_teacher_gets_no_gradient():
    student, teacher = _features(seed=7)
    student.requires_grad_(True)
    teacher.requires_grad_(True)
    FCKALoss()(student, teacher).backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


@pytest.mark.parametrize('row_norm,centered', OPTIONS)
def test_zero_and_constant_features_are_finite(row_norm, centered):
    _, teacher = _features(seed=8)
    loss = FCKALoss(loss_weight=2.0, row_norm=row_norm, centered=centered)
    zeros = torch.zeros(6, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    value = loss(zeros, teacher)
    value.backward()
    torch.testing.assert_close(value, torch.tensor(2.0, dtype=torch.float64))
    assert torch.isfinite(zeros.grad).all()

    constant = torch.full((6, 3, 4, 4), 0.7, dtype=torch.float64, requires_grad=True)
    value = loss(constant, torch.full((6, 8), 3.0, dtype=torch.float64))
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(constant.grad).all()
    # centering removes everything shared by all samples: nothing is left to align
    expected = 2.0 if centered else 0.0
    torch.testing.assert_close(value, torch.tensor(expected, dtype=torch.float64))


def test_float32_under_autocast_and_for_half_inputs():
    student, teacher = _features(seed=9, dtype=torch.float32)
    loss = FCKALoss(loss_weight=2.0, centered=True)
    expected = loss(student, teacher)
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        under_autocast = loss(student, teacher)
    assert under_autocast.dtype == torch.float32
    torch.testing.assert_close(under_autocast, expected)

    half_s, half_t = student.bfloat16(), teacher.half()
    value = loss(half_s, half_t)
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, loss(half_s.float(), half_t.float()))


def test_float64_stays_float64():
    student, teacher = _features(seed=10)
    assert FCKALoss()(student, teacher.float()).dtype == torch.float64


def test_batch_mismatch_raises():
    student, teacher = _features()
    with pytest.raises(ValueError, match='same batch.*6 student and 5 teacher'):
        FCKALoss()(student, teacher[:5])


def test_unbatched_input_raises():
    with pytest.raises(ValueError, match=r'batched features \(B, ...\)'):
        FCKALoss()(torch.tensor(1.0), torch.tensor(2.0))
