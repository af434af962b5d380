"""Slow, obviously-correct float64 references for the patch-wise losses.

Feature maps are resized with an explicit ``F.interpolate`` call, cut into patches
one patch at a time, and every group matrix is filled row by row in the order the
spec (``shared/spec/losses.md``, PCKA) states. CKA uses the explicit Gram and
centering matrices of ``rcka_reference``.
"""
import math
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from rcka_reference import reference_cka


def reference_resize(x: Tensor, patch: Tuple[int, int]) -> Tensor:
    """Bilinear (align_corners=False) resize to the next multiple of the patch size."""
    h, w = x.shape[-2:]
    target = (math.ceil(h / patch[0]) * patch[0], math.ceil(w / patch[1]) * patch[1])
    if target == (h, w):
        return x
    return F.interpolate(x, size=target, mode='bilinear', align_corners=False)


def reference_groups(x: Tensor, patch: Tuple[int, int], reduce: str) -> List[Tensor]:
    """One (u*v, columns) matrix per group, built patch by patch."""
    x = reference_resize(x.double(), patch)
    b, c, h, w = x.shape
    ph, pw = patch
    u, v = h // ph, w // pw

    def patch_of(i: int, j: int) -> Tensor:  # (B, C, ph, pw)
        return x[:, :, i * ph:(i + 1) * ph, j * pw:(j + 1) * pw]

    cells = [(i, j) for i in range(u) for j in range(v)]
    if reduce == 'channel':  # columns (batch, row-in-patch, column-in-patch)
        return [torch.stack([patch_of(i, j)[:, ch].reshape(-1) for i, j in cells])
                for ch in range(c)]
    if reduce == 'batch':  # columns (channel, row-in-patch, column-in-patch)
        return [torch.stack([patch_of(i, j)[img].reshape(-1) for i, j in cells])
                for img in range(b)]
    assert reduce == 'spatial'  # columns (batch, channel)
    return [torch.stack([patch_of(i, j)[:, :, r, s].reshape(-1) for i, j in cells])
            for r in range(ph) for s in range(pw)]


def reference_pcka_level(student: Tensor, teacher: Tensor, patch: Tuple[int, int],
                         reduce: str, centered: bool, row_norm: bool,
                         with_inter: bool) -> Tuple[Tensor, Optional[Tensor]]:
    """Mean intra (patch Gram) and inter (column Gram) CKA over the groups."""
    pairs = list(zip(reference_groups(teacher, patch, reduce),
                     reference_groups(student, patch, reduce)))
    intra = torch.stack([reference_cka(t, s, centered, row_norm) for t, s in pairs])
    if not with_inter:
        return intra.mean(), None
    inter = torch.stack([reference_cka(t.T, s.T, centered, row_norm) for t, s in pairs])
    return intra.mean(), inter.mean()


def reference_pcka_loss(students: Sequence[Tensor], teachers: Sequence[Tensor],
                        loss_weight: float, inter_weight: float, patch: Tuple[int, int],
                        reduce: str, centered: bool, row_norm: bool) -> Tensor:
    """``sum_levels w (1 - intra) + w_inter (1 - inter)``."""
    total = torch.zeros((), dtype=torch.float64)
    for student, teacher in zip(students, teachers):
        intra, inter = reference_pcka_level(student, teacher, patch, reduce, centered,
                                            row_norm, with_inter=inter_weight != 0)
        total = total + loss_weight * (1 - intra)
        if inter is not None:
            total = total + inter_weight * (1 - inter)
    return total


def reference_mean_kernel_discrepancy(x: Tensor, y: Tensor) -> Tensor:
    """``n^2/2 (mean K^_X - mean K^_Y)^2`` with ``K^ = X X^T / ||X X^T||_F`` written out."""
    n = x.shape[0]
    means = []
    for m in (x.double(), y.double()):
        gram = m @ m.T
        means.append((gram / torch.sqrt((gram ** 2).sum())).mean())
    return n * n / 2 * (means[0] - means[1]) ** 2


def reference_mmd_loss(students: Sequence[Tensor], teachers: Sequence[Tensor],
                       loss_weight: float, patch: Tuple[int, int], reduce: str) -> Tensor:
    """``sum_levels w * mean_g discrepancy(S_g, T_g)``."""
    total = torch.zeros((), dtype=torch.float64)
    for student, teacher in zip(students, teachers):
        pairs = zip(reference_groups(student, patch, reduce),
                    reference_groups(teacher, patch, reduce))
        total = total + loss_weight * torch.stack(
            [reference_mean_kernel_discrepancy(s, t) for s, t in pairs]).mean()
    return total


# Inputs shared by the patch-wise loss tests.
REDUCES = ('channel', 'batch', 'spatial')
PATCH = (2, 3)
# (student, teacher) spatial sizes: multiples of the patch; not multiples and
# different sizes that round up to the same 4 x 6 grid.
SIZES = {'multiple': ((4, 6), (4, 6)), 'rounded': ((3, 5), (4, 4))}


def random_levels(sizes, batch=2, channels=3, seed=0, dtype=torch.float64):
    """Independent random student / teacher levels of the given spatial sizes."""
    gen = torch.Generator().manual_seed(seed)
    (hs, ws), (ht, wt) = sizes
    teacher = torch.randn(batch, channels, ht, wt, generator=gen, dtype=dtype) + 0.3
    student = torch.randn(batch, channels, hs, ws, generator=gen, dtype=dtype) + 0.3
    return student, teacher


def loss_and_grad(loss_fn, student, teacher):
    """The loss and its gradient with respect to the student."""
    student = student.detach().clone().requires_grad_()
    loss = loss_fn(student, teacher)
    (grad, ) = torch.autograd.grad(loss, student)
    return loss, grad
