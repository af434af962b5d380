"""PatchWiseLoss: mmrazor's 2-D losses applied per patch group ("w/ patch", Tab. 7)."""
import pytest
import torch
from torch import nn

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor.registry import MODELS
from mmrazor_relkd.models.losses.patch_wise_loss import PatchWiseLoss
from pcka_reference import reference_groups

REDUCES = ('channel', 'batch', 'spatial')
PATCH = (2, 3)
INNER_LOSSES = [dict(type='DISTLoss', tau=2.0, inter_loss_weight=0.5),
                dict(type='KLDivergence', tau=1.5, loss_weight=3.0)]


@MODELS.register_module(force=True)
class _ItemCallingLoss(nn.Module):
    """A 2-D loss that syncs to Python, so it cannot be vmapped."""

    def forward(self, preds_S, preds_T):
        return preds_S.sum() * float(preds_T.sum().item())


def _levels(sizes=((3, 5), (4, 4)), batch=2, channels=3, seed=0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    (hs, ws), (ht, wt) = sizes
    teacher = torch.randn(batch, channels, ht, wt, generator=gen, dtype=dtype)
    student = torch.randn(batch, channels, hs, ws, generator=gen, dtype=dtype)
    return student, teacher


def _reference(inner_cfg, student, teacher, reduce):
    """Loop over the patch groups of the reference arrangement, one inner call each."""
    inner = MODELS.build(inner_cfg)
    pairs = zip(reference_groups(student, PATCH, reduce),
                reference_groups(teacher, PATCH, reduce))
    return torch.stack([inner(s, t) for s, t in pairs]).mean()


def test_built_from_registry():
    loss = MODELS.build(dict(type='PatchWiseLoss', loss=dict(type='DISTLoss'), patch_size=8))
    assert isinstance(loss, PatchWiseLoss)
    assert type(loss.loss).__name__ == 'DISTLoss' and loss.patch_size == (8, 8)


@pytest.mark.parametrize('inner_cfg', INNER_LOSSES, ids=lambda c: c['type'])
@pytest.mark.parametrize('reduce', REDUCES)
@pytest.mark.parametrize('batch', [1, 2])
def test_value_and_gradient_match_group_loop(inner_cfg, reduce, batch):
    student, teacher = _levels(batch=batch)
    student.requires_grad_()
    loss = PatchWiseLoss(inner_cfg, PATCH, reduce)(student, teacher)
    (grad, ) = torch.autograd.grad(loss, student)
    ref = _reference(inner_cfg, student, teacher, reduce)
    (ref_grad, ) = torch.autograd.grad(ref, student)
    torch.testing.assert_close(loss, ref)
    torch.testing.assert_close(grad, ref_grad)


def test_inner_loss_weight_scales_and_levels_sum():
    student, teacher = _levels()
    other_s, other_t = _levels(sizes=((4, 6), (4, 6)), seed=1)
    single = PatchWiseLoss(dict(type='DISTLoss'), PATCH)
    double = PatchWiseLoss(dict(type='DISTLoss', loss_weight=2.0), PATCH)
    torch.testing.assert_close(double(student, teacher), 2 * single(student, teacher))
    torch.testing.assert_close(single([student, other_s], (teacher, other_t)),
                               single(student, teacher) + single(other_s, other_t))


def test_gradcheck():
    student, teacher = _levels(channels=2)
    student.requires_grad_()
    loss_fn = PatchWiseLoss(INNER_LOSSES[0], PATCH)
    assert torch.autograd.gradcheck(lambda s: loss_fn(s, teacher), (student, ))


def test_autocast_bfloat16_computes_in_float32_and_detaches_teacher():
    student, teacher = _levels(dtype=torch.float32)
    teacher.requires_grad_()
    loss_fn = PatchWiseLoss(INNER_LOSSES[1], PATCH)
    with torch.autocast(device_type='cpu', dtype=torch.bfloat16):
        loss = loss_fn(student.bfloat16(), teacher.bfloat16())
    assert loss.dtype == torch.float32
    torch.testing.assert_close(loss, loss_fn(student.bfloat16().float(),
                                             teacher.bfloat16().float()))
    assert not loss.requires_grad  # only the (detached) teacher needed a gradient


def test_errors():
    student, teacher = _levels()
    with pytest.raises(TypeError, match=r"config dict with a 'type'"):
        PatchWiseLoss('DISTLoss')
    with pytest.raises(RuntimeError, match=r'_ItemCallingLoss on all patch groups at once '
                       r'with torch.func.vmap.*no \.item\(\)'):
        PatchWiseLoss(dict(type='_ItemCallingLoss'), PATCH)(student, teacher)
    with pytest.raises(ValueError, match=r"must return a scalar.*reduction='batchmean'"):
        PatchWiseLoss(dict(type='KLDivergence', reduction='none'), PATCH)(student, teacher)
    with pytest.raises(ValueError, match='(?s)channel mismatch.*ConvModuleConnector'):
        PatchWiseLoss(dict(type='DISTLoss'), PATCH)(student, teacher[:, :2])
