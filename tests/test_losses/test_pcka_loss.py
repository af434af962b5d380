"""PCKALoss and the patch arrangement against the slow float64 reference, gradcheck,
invariances, precision, edge cases and error messages."""
import itertools

import pytest
import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor.registry import MODELS
from mmrazor_relkd.functional.patch_cka import patch_cka, patch_groups
from mmrazor_relkd.models.losses.pcka_loss import PCKALoss
from pcka_reference import (PATCH, REDUCES, SIZES, loss_and_grad, random_levels,
                            reference_groups, reference_pcka_loss)

OPTIONS = list(itertools.product([False, True], [False, True]))  # (centered, row_norm)


def test_built_from_registry_with_authors_defaults():
    loss = MODELS.build(dict(type='PCKALoss'))
    assert isinstance(loss, PCKALoss)
    assert (loss.loss_weight, loss.inter_weight, loss.patch_size, loss.reduce,
            loss.row_norm, loss.centered) == (10.0, 0.0, (16, 16), 'channel', False, False)


@pytest.mark.parametrize('reduce', REDUCES)
@pytest.mark.parametrize('size', SIZES)
def test_arrangement_matches_patch_by_patch_reference(reduce, size):
    student, _ = random_levels(SIZES[size])
    expected = torch.stack(reference_groups(student, PATCH, reduce))
    torch.testing.assert_close(patch_groups(student, PATCH, reduce), expected)


@pytest.mark.parametrize('reduce', REDUCES)
@pytest.mark.parametrize('centered,row_norm', OPTIONS)
@pytest.mark.parametrize('inter_weight', [0.0, 3.0])
@pytest.mark.parametrize('size', SIZES)
def test_value_and_gradient_match_reference(reduce, centered, row_norm, inter_weight,
                                            size):
    student, teacher = random_levels(SIZES[size])
    loss_fn = PCKALoss(loss_weight=2.5, inter_weight=inter_weight, patch_size=PATCH,
                       reduce=reduce, row_norm=row_norm, centered=centered)
    loss, grad = loss_and_grad(loss_fn, student, teacher)
    ref, ref_grad = loss_and_grad(
        lambda s, t: reference_pcka_loss([s], [t], 2.5, inter_weight, PATCH, reduce,
                                         centered, row_norm), student, teacher)
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(grad, ref_grad)


@pytest.mark.parametrize('reduce', REDUCES)
@pytest.mark.parametrize('centered,row_norm', [(False, False), (True, True)])
def test_batch_of_one(reduce, centered, row_norm):
    student, teacher = random_levels(SIZES['rounded'], batch=1)
    loss_fn = PCKALoss(loss_weight=1.0, inter_weight=1.0, patch_size=PATCH, reduce=reduce,
                       row_norm=row_norm, centered=centered)
    loss, grad = loss_and_grad(loss_fn, student, teacher)
    ref, ref_grad = loss_and_grad(
        lambda s, t: reference_pcka_loss([s], [t], 1.0, 1.0, PATCH, reduce, centered,
                                         row_norm), student, teacher)
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(grad, ref_grad)


def test_levels_are_summed_and_default_matches_authors_setting():
    """Defaults (16 x 16, channel, uncentered, weight 10) on two FPN-like levels."""
    student_0, teacher_0 = random_levels(((20, 35), (20, 35)), channels=4, seed=1)
    student_1, teacher_1 = random_levels(((10, 18), (10, 18)), channels=4, seed=2)
    loss_fn = PCKALoss()
    total = loss_fn((student_0, student_1), [teacher_0, teacher_1])
    torch.testing.assert_close(total, loss_fn(student_0, teacher_0) +
                               loss_fn(student_1, teacher_1))
    ref = reference_pcka_loss([student_0, student_1], [teacher_0, teacher_1], 10.0, 0.0,
                              (16, 16), 'channel', False, False)
    torch.testing.assert_close(total, ref)


@pytest.mark.parametrize('reduce', REDUCES)
@pytest.mark.parametrize('centered,row_norm', OPTIONS)
def test_gradcheck(reduce, centered, row_norm):
    student, teacher = random_levels(SIZES['rounded'], channels=2)
    student.requires_grad_()
    loss_fn = PCKALoss(loss_weight=1.0, inter_weight=0.5, patch_size=PATCH, reduce=reduce,
                       row_norm=row_norm, centered=centered)
    assert torch.autograd.gradcheck(lambda s: loss_fn(s, teacher), (student, ))


@pytest.mark.parametrize('reduce', REDUCES)
@pytest.mark.parametrize('centered,row_norm', OPTIONS)
def test_identical_inputs_give_zero_loss_and_scaling_is_ignored(reduce, centered, row_norm):
    student, teacher = random_levels(SIZES['rounded'])
    loss_fn = PCKALoss(loss_weight=2.0, inter_weight=1.0, patch_size=PATCH, reduce=reduce,
                       row_norm=row_norm, centered=centered)
    zero = torch.zeros((), dtype=torch.float64)
    torch.testing.assert_close(loss_fn(teacher, teacher), zero)
    torch.testing.assert_close(loss_fn(7.0 * student, 0.02 * teacher),
                               loss_fn(student, teacher))


@pytest.mark.parametrize('centered,row_norm', OPTIONS)
def test_batch_reduce_is_invariant_to_an_orthogonal_channel_rotation(centered, row_norm):
    """reduce='batch' columns are (channel, pixel): rotating the channels of one side
    is an orthogonal map of the columns, which leaves the patch Gram matrix as is."""
    student, teacher = random_levels(SIZES['rounded'], channels=4)
    rotation, _ = torch.linalg.qr(torch.randn(4, 4, dtype=torch.float64,
                                              generator=torch.Generator().manual_seed(3)))
    rotated = torch.einsum('dc,bchw->bdhw', rotation, student)
    for reduce, invariant in (('batch', True), ('channel', False)):
        loss_fn = PCKALoss(patch_size=PATCH, reduce=reduce, row_norm=row_norm,
                           centered=centered)
        same = torch.allclose(loss_fn(rotated, teacher), loss_fn(student, teacher))
        assert same is invariant, reduce


@pytest.mark.parametrize('reduce', REDUCES)
def test_all_zero_group_and_constant_map_give_finite_loss_and_gradient(reduce):
    student, teacher = random_levels(SIZES['multiple'], dtype=torch.float32)
    student[:, 0] = 0.0  # all-zero channel: an all-zero group for reduce='channel'
    teacher[0] = 0.0  # all-zero image: an all-zero group for reduce='batch'
    for centered, level_s in ((False, student), (True, torch.full_like(student, 2.5))):
        level_s = level_s.clone().requires_grad_()
        loss = PCKALoss(inter_weight=1.0, patch_size=PATCH, reduce=reduce,
                        centered=centered)(level_s, teacher)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(level_s.grad).all()
    zero_level = torch.zeros_like(student, requires_grad=True)
    loss = PCKALoss(inter_weight=1.0, patch_size=PATCH, reduce=reduce)(zero_level, teacher)
    loss.backward()
    torch.testing.assert_close(loss, torch.tensor(11.0))  # alignment 0 in every group
    assert torch.isfinite(zero_level.grad).all()


def test_zero_channel_counts_as_zero_alignment():
    student, teacher = random_levels(SIZES['multiple'])
    student[:, 1] = 0.0
    loss = PCKALoss(loss_weight=1.0, patch_size=PATCH)(student, teacher)
    others = [0, 2]
    ref = reference_pcka_loss([student[:, others]], [teacher[:, others]], 1.0, 0.0, PATCH,
                              'channel', False, False)
    intra_others = 1 - ref  # mean alignment of the two non-zero channels
    torch.testing.assert_close(loss, 1 - intra_others * 2 / 3)


@pytest.mark.parametrize('inter_weight', [0.0, 1.0])
def test_autocast_bfloat16_computes_in_float32(inter_weight):
    student, teacher = random_levels(SIZES['rounded'], dtype=torch.float32)
    conv = torch.nn.Conv2d(3, 3, 1)
    loss_fn = PCKALoss(inter_weight=inter_weight, patch_size=PATCH)
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        features = conv(student)
        assert features.dtype == torch.bfloat16
        loss = loss_fn(features, teacher.bfloat16())
    assert loss.dtype == torch.float32
    expected = loss_fn(features.float(), teacher.bfloat16().float())
    torch.testing.assert_close(loss, expected, rtol=1e-6, atol=1e-6)
    loss.backward()
    assert conv.weight.grad is not None and torch.isfinite(conv.weight.grad).all()


def test_float64_stays_float64_and_teacher_gets_no_gradient():
    student, teacher = random_levels(SIZES['rounded'])
    student.requires_grad_()
    teacher.requires_grad_()
    loss = PCKALoss(inter_weight=1.0, patch_size=PATCH)(student, teacher)
    assert loss.dtype == torch.float64
    loss.backward()
    assert student.grad is not None and teacher.grad is None


def test_functional_returns_inter_only_when_asked():
    student, teacher = random_levels(SIZES['rounded'])
    intra, inter = patch_cka(student, teacher, PATCH)
    assert inter is None and intra.shape == ()
    intra_2, inter = patch_cka(student, teacher, PATCH, inter=True)
    torch.testing.assert_close(intra, intra_2)
    assert inter.shape == () and 0 < inter.item() < 1


def test_errors_name_the_problem_and_the_fix():
    student, teacher = random_levels(SIZES['multiple'])
    loss_fn = PCKALoss(patch_size=PATCH)
    with pytest.raises(ValueError, match=r"(?s)channel mismatch.*3 channels.*teacher 5.*"
                       r"ConvModuleConnector', in_channel=3, out_channel=5"):
        loss_fn(student, torch.randn(2, 5, 4, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match=r'batch size mismatch.*student gives 2.*teacher 3'):
        loss_fn(student, torch.randn(3, 3, 4, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match=r'spatial size mismatch.*\(4, 6\).*\(6, 6\)'):
        loss_fn(student, torch.randn(2, 3, 5, 6, dtype=torch.float64))
    with pytest.raises(ValueError, match=r'expects non-empty \(B, C, H, W\).*\(2, 3, 6\)'):
        loss_fn(student[:, :, 0], teacher[:, :, 0])
    with pytest.raises(ValueError, match='student gives 2 feature levels and the teacher 1'):
        loss_fn([student, student], [teacher])
    with pytest.raises(TypeError, match='both be tensors or both be tuples/lists'):
        loss_fn(student, [teacher])
    with pytest.raises(TypeError, match=r"every feature level must be a tensor.*'list'"):
        loss_fn([student, [student]], [teacher, teacher])
    with pytest.raises(ValueError, match=r"reduce must be one of \('channel', 'batch', "):
        PCKALoss(reduce='pixel')
    for bad_patch in ((4, 0), 2.5, (2, 3, 4), True):
        with pytest.raises(ValueError, match='patch_size must be a positive int or a pair'):
            PCKALoss(patch_size=bad_patch)
