"""PCKA: patch-based CKA for detector features (Zhou et al., *Rethinking Centered
Kernel Alignment in Knowledge Distillation*, IJCAI 2024, Sec. 3.4, Fig. 2)."""
from mmrazor.registry import MODELS
from torch import Tensor, nn

from mmrazor_relkd.functional.patch_cka import (FeatureLevels, PatchSize, check_reduce,
                                                pair_patch_size, paired_levels,
                                                patch_cka)


@MODELS.register_module()
class PCKALoss(nn.Module):
    """Patch-wise kernel alignment between student and teacher feature maps.

    The math, the defaults and their sources: ``docs/losses.md#pckaloss``.

    Each level ``(B, C, H, W)`` is resized (bilinear, ``align_corners=False``) to the
    smallest multiple of the patch size ``p`` that is ``>= (H, W)`` and cut into
    ``u x v`` patches; every group ``g`` (a channel, an image or an in-patch position,
    per ``reduce``) is a matrix ``X_g`` with one row per patch (see
    :mod:`mmrazor_relkd.functional.patch_cka`). With
    ``CKA(X, Y) = <X X^T, Y Y^T>_F / (||X X^T||_F ||Y Y^T||_F)``::

        intra = mean_g CKA(T_g, S_g)          Gram matrices over the u*v patches
        inter = mean_g CKA(T_g^T, S_g^T)      Gram matrices over the columns
        loss  = loss_weight * (1 - intra) + inter_weight * (1 - inter)

    summed over the levels when tuples / lists are given. The defaults reproduce the
    authors' released code: uncentered alignment, 16 x 16 patches, averaging over the
    channels (the paper's best, Tab. 5), weight 10 per FPN level; they enabled the
    inter term with ``inter_weight = loss_weight`` for the two-stage and GFL pairs.
    The teacher is detached; half-precision inputs (autocast) are computed and
    returned in float32; all-zero groups or constant maps (``centered=True``) give a
    finite loss and gradient. A level that is a single patch has a 1 x 1 Gram matrix
    and carries no signal (a warning in the run's log says so).

    Args:
        loss_weight: weight of the intra (patch-relation) term.
        inter_weight: weight of the inter (transposed) term; 0 skips computing it.
        patch_size: ``p`` or ``(p_h, p_w)``.
        reduce: the averaged dimension: ``'channel'`` (groups = C, rows x columns =
            ``u*v x B*p*p``), ``'batch'`` (groups = B, ``u*v x C*p*p``) or
            ``'spatial'`` (groups = p*p, ``u*v x B*C``).
        row_norm: divide each Gram row by the square root of its diagonal entry.
        centered: true linear CKA (centering matrix ``H = I - 11^T/n``).
    """

    def __init__(self, loss_weight: float = 10.0, inter_weight: float = 0.0,
                 patch_size: PatchSize = 16, reduce: str = 'channel',
                 row_norm: bool = False, centered: bool = False) -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.inter_weight = inter_weight
        self.patch_size = pair_patch_size(patch_size)
        self.reduce = check_reduce(reduce)
        self.row_norm = row_norm
        self.centered = centered

    def forward(self, preds_S: FeatureLevels, preds_T: FeatureLevels) -> Tensor:
        """Loss for student / teacher levels ``(B, C, H, W)`` (one or a sequence)."""
        total = 0.0
        for level_s, level_t in paired_levels(preds_S, preds_T):
            intra, inter = patch_cka(level_s, level_t, self.patch_size, self.reduce,
                                     centered=self.centered, row_norm=self.row_norm,
                                     inter=self.inter_weight != 0)
            total = total + self.loss_weight * (1 - intra)
            if inter is not None:
                total = total + self.inter_weight * (1 - inter)
        return total

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, inter_weight={self.inter_weight}, '
                f'patch_size={self.patch_size}, reduce={self.reduce!r}, '
                f'row_norm={self.row_norm}, centered={self.centered}')
