"""LCKA: intra- and inter-class CKA of logits (Zhou et al., *Rethinking Centered
Kernel Alignment in Knowledge Distillation*, IJCAI 2024, Sec. 3.3, Eq. 7-8)."""
from typing import Optional

import torch
from mmrazor.registry import MODELS
from torch import Tensor, nn

from mmrazor_relkd.functional.logit_cka import logit_cka
from mmrazor_relkd.functional.precision import to_loss_precision


@MODELS.register_module()
class LCKALoss(nn.Module):
    """Logit CKA loss with an intra-class and an optional inter-class term.

    The math, the defaults and their sources: ``docs/losses.md#lckaloss``.

    For logits ``z_S``, ``z_T`` of shape (N, P), softened to ``softmax(z / tau)``
    first when ``tau`` is given::

        intra = CKA(z_T, z_S)          (N x N Gram matrices, relations of samples)
        inter = CKA(z_T^T, z_S^T)      (P x P Gram matrices, relations of classes)
        loss  = loss_weight * (1 - intra) + inter_weight * (1 - inter)

    with ``CKA(X, Y) = <X X^T, Y Y^T>_F / (||X X^T||_F ||Y Y^T||_F)``. The inter term is
    evaluated in the N-space form when P > N, so no P x P matrix is built. The paper's
    RCKA uses ``loss_weight = inter_weight = beta = 5`` on ImageNet.

    Args:
        loss_weight: weight of the intra-class term.
        inter_weight: weight of the inter-class term; 0 skips computing it.
        tau: softmax temperature applied to both logits first; ``None`` keeps the raw
            logits.
        row_norm: divide each Gram row by the square root of its diagonal entry (the
            default of the authors' classification code).
        centered: apply the centering matrix to both Gram matrices.
    """

    def __init__(self, loss_weight: float = 1.0, inter_weight: float = 0.0,
                 tau: Optional[float] = None, row_norm: bool = True,
                 centered: bool = False) -> None:
        super().__init__()
        if tau is not None and tau <= 0:
            raise ValueError(f'LCKALoss tau must be positive (or None for no '
                             f'softening), got tau={tau}')
        self.loss_weight = loss_weight
        self.inter_weight = inter_weight
        self.tau = tau
        self.row_norm = row_norm
        self.centered = centered

    def forward(self, preds_S: Tensor, preds_T: Tensor) -> Tensor:
        """Loss for student logits ``preds_S`` (N, P) and teacher logits ``preds_T`` (N, P)."""
        with torch.autocast(device_type=preds_S.device.type, enabled=False):
            student, teacher = to_loss_precision(preds_S, preds_T.detach())
            intra, inter = logit_cka(student, teacher, tau=self.tau,
                                     with_inter=self.inter_weight != 0,
                                     centered=self.centered, row_norm=self.row_norm)
            loss = self.loss_weight * (1 - intra)
            if inter is not None:
                loss = loss + self.inter_weight * (1 - inter)
        return loss

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, inter_weight={self.inter_weight}, '
                f'tau={self.tau}, row_norm={self.row_norm}, centered={self.centered}')
