"""Batched linear kernel alignment (CKA), the core shared by every CKA-based loss.

For groups of matrices ``X`` (n x d1) and ``Y`` (n x d2) with the same rows::

    CKA(X, Y) = <K_X, K_Y>_F / (||K_X||_F ||K_Y||_F),    K_X = X X^T

This is the cosine similarity of the two Gram matrices (Zhou et al., *Rethinking
Centered Kernel Alignment in Knowledge Distillation*, IJCAI 2024, Theorem 1). The
authors' released code uses it **uncentered**; ``centered=True`` applies the centering
matrix ``H = I - 11^T/n`` (Kornblith et al., 2019), i.e. centres the columns of X, Y.
``row_norm=True`` divides row ``i`` of each Gram matrix by ``sqrt(K_ii)`` (rows only).

Every form has an n-space expression (n x n Gram matrices) and a d-space one::

    <K_X, K_Y>_F = ||X^T Y||_F^2              (plain)
                 = <X_r^T Y_r, X^T Y>_F       (row_norm; X_r = X with unit rows)

and :func:`linear_cka` evaluates the cheaper of the two, so the transposed ("inter")
alignment ``linear_cka(X^T, Y^T)`` of n x d matrices never forms a d x d matrix when
d > n. Without centering and row normalisation the two alignments share their
denominator (``||X X^T||_F = ||X^T X||_F``), which :func:`linear_cka_pair` uses to get
both from three products.

The products are divided by the Frobenius norms of their operands (CKA is invariant
to scaling either input), which keeps float32 sums in range (for entries up to about
1e17) without an extra pass over the inputs; the norms are detached, which leaves the
gradient exact because CKA is homogeneous of degree 0 (``grad CKA(X) . X = 0``). The
Gram matrix ``A A^T`` of one input has a one-product backward. All-zero groups give
CKA = 0 with a finite gradient.
"""
from typing import NamedTuple, Tuple

import torch
from torch import Tensor

_TINY = 1e-12


class _Side(NamedTuple):
    """One input of the alignment and the detached scales of its two forms."""
    x: Tensor           # (centred) input
    rows: Tensor        # x, or x with unit rows for row_norm
    scale: Tensor       # ||x||_F, (..., 1, 1)
    rows_scale: Tensor  # scale of ``rows``: ||x||_F, or 1 for unit rows


class _SelfGram(torch.autograd.Function):
    """``a @ a^T`` with the one-product backward ``(g + g^T) @ a``."""

    @staticmethod
    def forward(ctx, a: Tensor) -> Tensor:
        ctx.save_for_backward(a)
        return a @ a.mT

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        (a, ) = ctx.saved_tensors
        return (grad + grad.mT) @ a


def _prepare(x: Tensor, centered: bool, row_norm: bool) -> _Side:
    """Centre ``x`` and, for ``row_norm``, make its unit-row copy."""
    if centered:
        x = x - x.mean(dim=-2, keepdim=True)
    scale = torch.linalg.vector_norm(x.detach(), dim=(-2, -1),
                                     keepdim=True).clamp_min(_TINY)
    if not row_norm:
        return _Side(x, x, scale, scale)
    rows = x / torch.linalg.vector_norm(x, dim=-1, keepdim=True).clamp_min(_TINY)
    return _Side(x, rows, scale, torch.ones_like(scale))


def _n_space_gram(a: _Side) -> Tensor:
    """The rescaled (row-normalised) Gram matrix ``R A A^T``, n x n."""
    gram = _SelfGram.apply(a.x) if a.rows is a.x else a.rows @ a.x.mT
    return gram / (a.rows_scale * a.scale)


def _d_space_inner(a: _Side, b: _Side) -> Tensor:
    """``<R_a A A^T, R_b B B^T>_F = <A_r^T B_r, A^T B>_F`` per group, in d-space."""
    prod = (_SelfGram.apply(a.x.mT) if a is b else a.x.mT @ b.x) / (a.scale * b.scale)
    if a.rows is a.x and b.rows is b.x:
        return prod.square().sum(dim=(-2, -1))
    rows_prod = (a.rows.mT @ b.rows) / (a.rows_scale * b.rows_scale)
    return (rows_prod * prod).sum(dim=(-2, -1))


def _inner(a: Tensor, b: Tensor) -> Tensor:
    """Frobenius inner product of batched matrices."""
    return (a * b).sum(dim=(-2, -1))


def _use_n_space(n: int, d1: int, d2: int) -> bool:
    """Whether the n x n form costs fewer multiply-adds than the d-space one."""
    return n * (d1 + d2) <= d1 * d2 + d1 * d1 + d2 * d2


def _alignment(cross: Tensor, self_x: Tensor, self_y: Tensor) -> Tensor:
    """``cross / sqrt(self_x self_y)``, 0 for all-zero groups."""
    return cross / (self_x * self_y).clamp_min(_TINY * _TINY).sqrt()


def _check_shapes(x: Tensor, y: Tensor) -> None:
    if x.dim() < 2 or y.dim() < 2:
        raise ValueError(f'linear_cka expects (..., n, d) matrices, got shapes '
                         f'{tuple(x.shape)} and {tuple(y.shape)}')
    if x.shape[:-1] != y.shape[:-1]:
        raise ValueError(f'linear_cka needs the same groups and rows in both inputs, '
                         f'got shapes {tuple(x.shape)} and {tuple(y.shape)}')


def linear_cka(x: Tensor, y: Tensor, centered: bool = False,
               row_norm: bool = False) -> Tensor:
    """Linear (optionally centred / row-normalised) CKA of batched matrices.

    Args:
        x: ``(..., n, d1)``; each trailing matrix is one group.
        y: ``(..., n, d2)``; same leading shape and ``n`` as ``x``.
        centered: apply the centering matrix (true linear CKA).
        row_norm: divide each Gram row by the square root of its diagonal entry.

    Returns:
        ``(...)`` alignments in ``[0, 1]`` (``[-1, 1]`` is impossible for PSD Gram
        matrices without row_norm), in the dtype of the inputs.
    """
    _check_shapes(x, y)
    x_side, y_side = _prepare(x, centered, row_norm), _prepare(y, centered, row_norm)
    if _use_n_space(x.shape[-2], x.shape[-1], y.shape[-1]):
        k_x, k_y = _n_space_gram(x_side), _n_space_gram(y_side)
        return _alignment(_inner(k_x, k_y), _inner(k_x, k_x), _inner(k_y, k_y))
    return _alignment(_d_space_inner(x_side, y_side), _d_space_inner(x_side, x_side),
                      _d_space_inner(y_side, y_side))


def linear_cka_pair(x: Tensor, y: Tensor, centered: bool = False,
                    row_norm: bool = False) -> Tuple[Tensor, Tensor]:
    """``(linear_cka(x, y), linear_cka(x^T, y^T))``, sharing work where possible.

    Without centering and row normalisation the two alignments have the same
    denominator ``||X X^T||_F ||Y Y^T||_F``, so three products of the smaller size give
    both (for ``n <= d``: ``X X^T``, ``Y Y^T`` and ``X Y^T``). With either option the
    centring / row normalisation differs between the two, and this is two
    :func:`linear_cka` calls.

    Args:
        x: ``(..., n, d)``.
        y: ``(..., n, d)``; same shape as ``x``.
        centered: apply the centering matrix (true linear CKA).
        row_norm: divide each Gram row by the square root of its diagonal entry.

    Returns:
        ``(intra, inter)``: the alignments of the row Gram matrices (n x n) and of the
        column Gram matrices (d x d), each ``(...)``.
    """
    if centered or row_norm:
        return (linear_cka(x, y, centered, row_norm),
                linear_cka(x.mT, y.mT, centered, row_norm))
    _check_shapes(x, y)
    _check_shapes(x.mT, y.mT)
    if x.shape[-2] > x.shape[-1]:  # the d x d products are the smaller ones
        columns, rows = linear_cka_pair(x.mT, y.mT)
        return rows, columns
    x_side, y_side = _prepare(x, False, False), _prepare(y, False, False)
    k_x, k_y = _n_space_gram(x_side), _n_space_gram(y_side)
    self_x, self_y = _inner(k_x, k_x), _inner(k_y, k_y)
    cross = (x_side.x @ y_side.x.mT) / (x_side.scale * y_side.scale)  # X Y^T, n x n
    return (_alignment(_inner(k_x, k_y), self_x, self_y),
            _alignment(_inner(cross, cross), self_x, self_y))
