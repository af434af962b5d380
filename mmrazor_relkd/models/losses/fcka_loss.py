"""FCKA: CKA of flattened feature maps (Zhou et al., *Rethinking Centered Kernel
Alignment in Knowledge Distillation*, IJCAI 2024, Sec. 3.3, Eq. 6)."""
import torch
from mmrazor.registry import MODELS
from torch import Tensor, nn

from mmrazor_relkd.functional.kernel_alignment import linear_cka
from mmrazor_relkd.functional.precision import to_loss_precision


@MODELS.register_module()
class FCKALoss(nn.Module):
    """Feature CKA loss: each sample's features flattened to one row.

    The math, the defaults and their sources: ``docs/losses.md#fckaloss``.

    With ``X_S = reshape(F_S, (B, -1))`` and ``X_T = reshape(F_T, (B, -1))``::

        loss = loss_weight * (1 - CKA(X_T, X_S)),
        CKA(X, Y) = <X X^T, Y Y^T>_F / (||X X^T||_F ||Y Y^T||_F)

    The Gram matrices are B x B, so student and teacher may have different channel
    counts and spatial sizes (no connector needed); only the batch must match. Works on
    feature maps (B, C, H, W), pooled features (B, C) or any (B, ...) tensor.

    Args:
        loss_weight: weight ``alpha`` of the loss (the paper uses 5 on ImageNet).
        row_norm: divide each Gram row by the square root of its diagonal entry.
        centered: apply the centering matrix ``H = I - 11^T/B`` to both Gram matrices
            (Kornblith et al. linear CKA); the authors' code is uncentered.
    """

    def __init__(self, loss_weight: float = 1.0, row_norm: bool = False,
                 centered: bool = False) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.row_norm = row_norm
        self.centered = centered

    def forward(self, preds_S: Tensor, preds_T: Tensor) -> Tensor:
        """Loss for student features ``preds_S`` (B, ...) and teacher ``preds_T`` (B, ...)."""
        if preds_S.dim() == 0 or preds_T.dim() == 0:
            raise ValueError(
                f'FCKALoss expects batched features (B, ...), got student shape '
                f'{tuple(preds_S.shape)} and teacher shape {tuple(preds_T.shape)}')
        if preds_S.shape[0] != preds_T.shape[0]:
            raise ValueError(
                f'FCKALoss needs the same batch for student and teacher, got '
                f'{preds_S.shape[0]} student and {preds_T.shape[0]} teacher samples '
                f'(shapes {tuple(preds_S.shape)} and {tuple(preds_T.shape)}); record '
                f'both from the same forward pass of the same batch')
        with torch.autocast(device_type=preds_S.device.type, enabled=False):
            student, teacher = to_loss_precision(preds_S, preds_T.detach())
            batch = student.shape[0]
            cka = linear_cka(teacher.reshape(batch, -1), student.reshape(batch, -1),
                             centered=self.centered, row_norm=self.row_norm)
        return self.loss_weight * (1 - cka)

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, row_norm={self.row_norm}, '
                f'centered={self.centered}')
