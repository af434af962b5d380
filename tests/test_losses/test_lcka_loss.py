"""LCKALoss against a float64 reference, gradcheck, invariances, precision, errors."""
import itertools

import pytest
import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor.registry import MODELS
from mmrazor_relkd.functional.logit_cka import soften_logits
from mmrazor_relkd.models.losses.lcka_loss import LCKALoss
from rcka_reference import reference_cka, reference_lcka_loss

# (row_norm, centered, tau, inter_weight)
OPTIONS = list(itertools.product([False, True], [False, True], [None, 2.0], [0.0, 1.5]))
SHAPES = [(6, 5), (4, 9)]  # P < N and P > N (inter term in the N-space form)


def _logits(shape, seed: int = 0, dtype: torch.dtype = torch.float64):
    gen = torch.Generator().manual_seed(seed)
    student = 2.0 * torch.randn(*shape, generator=gen, dtype=dtype)
    teacher = 2.0 * torch.randn(*shape, generator=gen, dtype=dtype)
    return student, teacher


def test_built_from_registry():
    loss = MODELS.build(dict(type='LCKALoss', loss_weight=5.0, inter_weight=5.0, tau=4.0))
    assert isinstance(loss, LCKALoss)
    assert (loss.loss_weight, loss.inter_weight, loss.tau, loss.row_norm,
            loss.centered) == (5.0, 5.0, 4.0, True, False)


@pytest.mark.parametrize('shape', SHAPES)
@pytest.mark.parametrize('row_norm,centered,tau,inter_weight', OPTIONS)
def test_value_and_gradient_match_reference(shape, row_norm, centered, tau, inter_weight):
    student, teacher = _logits(shape)
    student.requires_grad_(True)
    loss = LCKALoss(loss_weight=2.0, inter_weight=inter_weight, tau=tau,
                    row_norm=row_norm, centered=centered)(student, teacher)
    (grad,) = torch.autograd.grad(loss, student)

    ref_student = student.detach().clone().requires_grad_(True)
    ref = reference_lcka_loss(ref_student, teacher, 2.0, inter_weight, tau, row_norm,
                              centered)
    (ref_grad,) = torch.autograd.grad(ref, ref_student)

    assert loss.shape == ()
    torch.testing.assert_close(loss, ref, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(grad, ref_grad, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize('row_norm,centered,tau', [(True, False, None), (False, True, 3.0),
                                                   (True, True, 0.5)])
def test_gradcheck_with_inter_term(row_norm, centered, tau):
    student, teacher = _logits((4, 6), seed=1)
    student.requires_grad_(True)
    loss = LCKALoss(loss_weight=1.0, inter_weight=0.7, tau=tau, row_norm=row_norm,
                    centered=centered)
    assert torch.autograd.gradcheck(lambda s: loss(s, teacher), (student,))


def test_inter_weight_adds_the_inter_term_only():
    student, teacher = _logits((6, 5), seed=2)
    intra_only = LCKALoss(loss_weight=2.0)(student, teacher)
    both = LCKALoss(loss_weight=2.0, inter_weight=3.0)(student, teacher)
    inter = reference_cka(teacher.T, student.T, row_norm=True)
    torch.testing.assert_close(both - intra_only, 3.0 * (1 - inter))


@pytest.mark.parametrize('row_norm,centered', [(False, False), (True, True)])
def test_invariant_to_logit_scale_without_tau(row_norm, centered):
    student, teacher = _logits((6, 5), seed=3)
    loss = LCKALoss(inter_weight=1.0, row_norm=row_norm, centered=centered)
    torch.testing.assert_close(loss(5.0 * student, 0.2 * teacher), loss(student, teacher))


@pytest.mark.parametrize('row_norm,centered', [(False, False), (True, False), (True, True)])
def test_rotation_invariances(row_norm, centered):
    """intra: class-space rotations ``z R``; inter: sample-space rotations ``Q z``."""
    student, teacher = _logits((6, 5), seed=4)
    gen = torch.Generator().manual_seed(5)
    rot_classes = torch.linalg.qr(torch.randn(5, 5, generator=gen, dtype=torch.float64))[0]
    rot_samples = torch.linalg.qr(torch.randn(6, 6, generator=gen, dtype=torch.float64))[0]
    intra = LCKALoss(row_norm=row_norm, centered=centered)
    inter = LCKALoss(loss_weight=0.0, inter_weight=1.0, row_norm=row_norm,
                     centered=centered)
    torch.testing.assert_close(intra(student @ rot_classes, teacher), intra(student, teacher))
    torch.testing.assert_close(inter(rot_samples @ student, rot_samples @ teacher),
                               inter(student, teacher))
    assert not torch.allclose(inter(student @ rot_classes, teacher), inter(student, teacher))


def test_inter_term_never_builds_a_class_by_class_matrix():
    """P = 200000 classes: a P x P Gram matrix would need 320 GB."""
    student, teacher = _logits((8, 200_000), seed=6)
    value = LCKALoss(loss_weight=0.0, inter_weight=1.0, row_norm=False)(student, teacher)
    # Theorem 1 in the N-space: CKA(X^T, Y^T) = ||X Y^T||^2 / (||X X^T|| ||Y Y^T||)
    cross = (teacher @ student.T).square().sum()
    expected = 1 - cross / (torch.linalg.norm(teacher @ teacher.T)
                            * torch.linalg.norm(student @ student.T))
    torch.testing.assert_close(value, expected)


def test_softening_is_a_softmax_over_classes():
    logits, _ = _logits((3, 4), seed=7)
    torch.testing.assert_close(soften_logits(logits, 2.0),
                               torch.exp(logits / 2) / torch.exp(logits / 2).sum(1, True))
    assert soften_logits(logits, None) is logits


def test_teacher_gets_no_gradient():
    student, teacher = _logits((6, 5), seed=8)
    student.requires_grad_(True)
    teacher.requires_grad_(True)
    LCKALoss(inter_weight=1.0, tau=2.0)(student, teacher).backward()
    assert teacher.grad is None
    assert student.grad is not None and student.grad.abs().sum() > 0


@pytest.mark.parametrize('row_norm,centered,tau', [(True, False, None), (False, True, None),
                                                   (True, True, 2.0), (False, False, 2.0)])
def test_zero_and_constant_logits_are_finite(row_norm, centered, tau):
    _, teacher = _logits((6, 5), seed=9)
    loss = LCKALoss(loss_weight=2.0, inter_weight=1.0, tau=tau, row_norm=row_norm,
                    centered=centered)
    for fill in (0.0, 3.0):
        student = torch.full((6, 5), fill, dtype=torch.float64, requires_grad=True)
        value = loss(student, teacher)
        value.backward()
        assert torch.isfinite(value), (fill, value)
        assert torch.isfinite(student.grad).all(), (fill, student.grad)
    zeros = torch.zeros(6, 5, dtype=torch.float64)
    if tau is None:  # nothing to align at all: both terms at their maximum
        torch.testing.assert_close(loss(zeros, teacher), torch.tensor(3.0, dtype=torch.float64))


def test_float32_under_autocast_and_for_half_inputs():
    student, teacher = _logits((6, 5), seed=10, dtype=torch.float32)
    loss = LCKALoss(inter_weight=1.0, tau=2.0)
    expected = loss(student, teacher)
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        under_autocast = loss(student, teacher)
    assert under_autocast.dtype == torch.float32
    torch.testing.assert_close(under_autocast, expected)

    half_s, half_t = student.half(), teacher.bfloat16()
    value = loss(half_s, half_t)
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, loss(half_s.float(), half_t.float()))


def test_float64_stays_float64():
    student, teacher = _logits((6, 5), seed=11)
    assert LCKALoss(inter_weight=1.0)(student.float(), teacher).dtype == torch.float64


def test_batch_mismatch_raises():
    student, teacher = _logits((6, 5))
    with pytest.raises(ValueError, match='same batch.*6 student and 4 teacher'):
        LCKALoss()(student, teacher[:4])


def test_label_space_mismatch_raises():
    student, _ = _logits((6, 5))
    teacher, _ = _logits((6, 7))
    with pytest.raises(ValueError, match='student has 5 classes and the teacher 7.*FCKALoss'):
        LCKALoss()(student, teacher)


def test_non_matrix_logits_raise():
    student, teacher = _logits((6, 5))
    with pytest.raises(ValueError, match=r'expects \(N, P\) logits'):
        LCKALoss()(student[:, :, None], teacher[:, :, None])


def test_non_positive_tau_raises():
    with pytest.raises(ValueError, match='tau must be positive'):
        LCKALoss(tau=0.0)
