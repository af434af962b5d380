"""Slow, obviously-correct float64 references for the FCKA / LCKA tests.

Gram matrices are built entry by entry; centering, row normalisation and the cosine
similarity follow the spec (``shared/spec/losses.md``) literally.
"""
from typing import Optional

import torch
from torch import Tensor


def gram(x: Tensor) -> Tensor:
    """``K[i, j] = <x_i, x_j>`` over the rows of ``x`` (n, d), one entry at a time."""
    n = x.shape[0]
    rows = [[torch.dot(x[i], x[j]) for j in range(n)] for i in range(n)]
    return torch.stack([torch.stack(row) for row in rows])


def reference_cka(x: Tensor, y: Tensor, centered: bool = False,
                  row_norm: bool = False) -> Tensor:
    """``align(K_X, K_Y)`` with optional ``H K H`` centering and Gram row normalisation."""
    n = x.shape[0]
    k_x, k_y = gram(x.double()), gram(y.double())
    if centered:
        h = torch.eye(n, dtype=torch.float64) - torch.full((n, n), 1.0 / n,
                                                           dtype=torch.float64)
        k_x, k_y = h @ k_x @ h, h @ k_y @ h
    if row_norm:
        k_x = k_x / torch.sqrt(torch.diagonal(k_x))[:, None]
        k_y = k_y / torch.sqrt(torch.diagonal(k_y))[:, None]
    return (k_x * k_y).sum() / (torch.sqrt((k_x ** 2).sum()) * torch.sqrt((k_y ** 2).sum()))


def reference_fcka_loss(student: Tensor, teacher: Tensor, loss_weight: float,
                        row_norm: bool, centered: bool) -> Tensor:
    """``w * (1 - CKA(T, S))`` on features flattened per sample."""
    batch = student.shape[0]
    cka = reference_cka(teacher.reshape(batch, -1), student.reshape(batch, -1),
                        centered=centered, row_norm=row_norm)
    return loss_weight * (1 - cka)


def reference_softmax(logits: Tensor, tau: float) -> Tensor:
    """``exp(z / tau) / sum exp(z / tau)`` per row, written out."""
    scaled = logits.double() / tau
    exp = torch.exp(scaled - scaled.max(dim=1, keepdim=True).values)
    return exp / exp.sum(dim=1, keepdim=True)


def reference_lcka_loss(student: Tensor, teacher: Tensor, loss_weight: float,
                        inter_weight: float, tau: Optional[float], row_norm: bool,
                        centered: bool) -> Tensor:
    """``w (1 - CKA(z_T, z_S)) + w_inter (1 - CKA(z_T^T, z_S^T))`` on (softened) logits."""
    if tau is not None:
        student, teacher = reference_softmax(student, tau), reference_softmax(teacher, tau)
    intra = reference_cka(teacher, student, centered=centered, row_norm=row_norm)
    inter = reference_cka(teacher.T, student.T, centered=centered, row_norm=row_norm)
    return loss_weight * (1 - intra) + inter_weight * (1 - inter)
