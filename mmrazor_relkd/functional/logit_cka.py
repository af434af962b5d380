"""Intra- and inter-class CKA of logits (LCKA, Zhou et al., IJCAI 2024, Eq. 7-8).

For student and teacher logits ``z_S``, ``z_T`` of shape (N, P), optionally softened
to ``softmax(z / tau)`` over the classes first::

    intra = CKA(z_T, z_S)        Gram matrices over the N samples   (N x N)
    inter = CKA(z_T^T, z_S^T)    Gram matrices over the P classes   (P x P)

Both go through :func:`~mmrazor_relkd.functional.kernel_alignment.linear_cka_pair`,
which evaluates the inter term in the N-space form whenever that is cheaper, so no
P x P matrix is built when P > N (P = 1000 on ImageNet, N = the batch size), and which
shares the products of the two terms when neither centering nor row normalisation is
on.
"""
from typing import Optional, Tuple

import torch
from torch import Tensor

from .kernel_alignment import linear_cka, linear_cka_pair


def soften_logits(logits: Tensor, tau: Optional[float]) -> Tensor:
    """``softmax(logits / tau)`` over the last (class) axis; ``tau=None`` is a no-op."""
    if tau is None:
        return logits
    return torch.softmax(logits / tau, dim=-1)


def logit_cka(logits_s: Tensor, logits_t: Tensor, tau: Optional[float] = None,
              with_inter: bool = True, centered: bool = False,
              row_norm: bool = True) -> Tuple[Tensor, Optional[Tensor]]:
    """Intra-class and inter-class CKA of student and teacher logits.

    Args:
        logits_s: student logits ``(N, P)``.
        logits_t: teacher logits ``(N, P)``.
        tau: softmax temperature applied first; ``None`` aligns the raw logits.
        with_inter: also compute the inter-class term (else it is returned as None).
        centered: apply the centering matrix (true linear CKA).
        row_norm: divide each Gram row by the square root of its diagonal entry
            (the default of the authors' classification code).

    Returns:
        ``(intra, inter)`` scalar alignments; ``inter`` is None unless ``with_inter``.
    """
    if logits_s.dim() != 2 or logits_t.dim() != 2:
        raise ValueError(
            f'logit CKA expects (N, P) logits, got student {tuple(logits_s.shape)} '
            f'and teacher {tuple(logits_t.shape)}; record the classifier output '
            f"(e.g. the recorder source 'head.fc'), not a feature map")
    if logits_s.shape[0] != logits_t.shape[0]:
        raise ValueError(
            f'logit CKA needs the same batch in student and teacher, got '
            f'{logits_s.shape[0]} student and {logits_t.shape[0]} teacher samples')
    if logits_s.shape[1] != logits_t.shape[1]:
        raise ValueError(
            f'logit CKA compares the same label space, but the student has '
            f'{logits_s.shape[1]} classes and the teacher {logits_t.shape[1]}; '
            f'for outputs of different widths use FCKALoss (Gram over samples only), '
            f"e.g. dict(type='FCKALoss', loss_weight=1.0)")
    z_s = soften_logits(logits_s, tau)
    z_t = soften_logits(logits_t, tau)
    if not with_inter:
        return linear_cka(z_t, z_s, centered=centered, row_norm=row_norm), None
    return linear_cka_pair(z_t, z_s, centered=centered, row_norm=row_norm)
