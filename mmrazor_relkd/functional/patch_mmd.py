"""The MMD term that bounds CKA from below, on patch groups (PCKA paper, Tab. 6).

Zhou et al., *Rethinking Centered Kernel Alignment in Knowledge Distillation*
(IJCAI 2024), Theorem 2 and App. C.2. With ``K_X = X X^T`` (linear kernel over the
n rows) scaled to unit Frobenius norm, ``K^_X = K_X / ||K_X||_F``::

    1 - CKA(X, Y) = 1/2 ||K^_X - K^_Y||_F^2 = n^2/2 * E_ij[(K^_X - K^_Y)_ij^2]
                 >= n^2/2 * (E_ij[K^_X,ij] - E_ij[K^_Y,ij])^2           (Jensen)

The right-hand side is the squared difference of the mean kernel values, the paper's
"upper bound of MMD" decomposition (the paper writes the factor as ``N`` and drops
the 1/2); :func:`mean_kernel_discrepancy` returns it with the ``n^2 / 2`` factor, so
it lies in ``[0, 1/2]`` and never exceeds ``1 - CKA`` of the same groups.

Why not the textbook ``MMD^2 = E K_XX + E K_YY - 2 E K_XY``: the cross kernel
``K_XY = X Y^T`` pairs student and teacher coordinates one to one, which needs equal
widths and a shared basis, whereas the term above, like CKA, only compares each
side's own kernel (and is invariant to scaling either side). The sum of a Gram
matrix's entries is ``||1^T X||^2``, so no n x n matrix is needed for the means.
"""
import torch
from torch import Tensor

from .patch_cka import PatchSize, patch_group_pair

_TINY = 1e-12


def _normalised_kernel_sum(x: Tensor) -> Tensor:
    """``sum_ij K^_ij`` per group, ``K^ = X X^T / ||X X^T||_F``."""
    n, d = x.shape[-2:]
    x = x / torch.linalg.vector_norm(x, dim=(-2, -1), keepdim=True).clamp_min(_TINY)
    gram = x @ x.mT if n <= d else x.mT @ x
    gram_norm = torch.linalg.matrix_norm(gram)
    return x.sum(dim=-2).square().sum(dim=-1) / gram_norm.clamp_min(_TINY)


def mean_kernel_discrepancy(x: Tensor, y: Tensor) -> Tensor:
    """``n^2/2 (mean K^_X - mean K^_Y)^2`` of batched ``(..., n, d)`` matrices.

    Args:
        x: ``(..., n, d1)``; each trailing matrix is one group.
        y: ``(..., n, d2)``; same leading shape and ``n`` as ``x``.

    Returns:
        ``(...)`` discrepancies in ``[0, 1/2]``; all-zero groups count as a zero
        kernel (finite gradient).
    """
    if x.dim() < 2 or x.shape[:-1] != y.shape[:-1]:
        raise ValueError(f'mean_kernel_discrepancy needs (..., n, d) matrices with the '
                         f'same groups and rows, got shapes {tuple(x.shape)} and '
                         f'{tuple(y.shape)}')
    n = x.shape[-2]
    return (_normalised_kernel_sum(x) - _normalised_kernel_sum(y)).square() / (2 * n * n)


def patch_mmd(preds_S: Tensor, preds_T: Tensor, patch_size: PatchSize = 16,
              reduce: str = 'channel') -> Tensor:
    """Mean over patch groups of :func:`mean_kernel_discrepancy` for one level.

    The groups are those of :func:`~mmrazor_relkd.functional.patch_cka.patch_groups`;
    the teacher is detached and the value is computed in float32 under autocast.
    """
    with torch.autocast(device_type=preds_S.device.type, enabled=False):
        groups_s, groups_t = patch_group_pair(preds_S, preds_T, patch_size, reduce)
        return mean_kernel_discrepancy(groups_s, groups_t).mean()
