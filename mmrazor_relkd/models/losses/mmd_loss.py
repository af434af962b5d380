"""The MMD baseline of the PCKA paper on patches (Zhou et al., *Rethinking Centered
Kernel Alignment in Knowledge Distillation*, IJCAI 2024, Theorem 2, Tab. 6)."""
from mmrazor.registry import MODELS
from torch import Tensor, nn

from mmrazor_relkd.functional.patch_cka import (FeatureLevels, PatchSize, check_reduce,
                                                pair_patch_size, paired_levels)
from mmrazor_relkd.functional.patch_mmd import patch_mmd


@MODELS.register_module()
class MMDLoss(nn.Module):
    """Squared difference of the mean kernel values of patch groups ("MMD w/ patch").

    The math, the defaults and their sources: ``docs/losses.md#mmdloss``.

    The levels are cut into patch groups exactly as in :class:`PCKALoss`. For each
    group, with the linear kernel over the ``n = u*v`` patch rows scaled to unit
    Frobenius norm, ``K^_X = X X^T / ||X X^T||_F``::

        mmd_g = n^2 / 2 * (mean_ij K^_T,ij - mean_ij K^_S,ij)^2
        loss  = loss_weight * mean_g mmd_g          (summed over levels)

    This is the paper's decomposition of CKA (Theorem 2, App. C.2):
    ``1 - CKA = 1/2 ||K^_T - K^_S||_F^2 >= mmd_g`` by Jensen, so ``mmd_g`` lies in
    ``[0, 1/2]`` and is at most the PCKA term ``1 - CKA`` of the same group; the
    remaining gap is the part PCKA adds on top of MMD. The textbook
    ``E K_XX + E K_YY - 2 E K_XY`` is not used: its cross kernel compares student and
    teacher coordinates one to one, while this term (like CKA) compares only each
    side's own kernel. See :mod:`mmrazor_relkd.functional.patch_mmd`.

    Args:
        loss_weight: weight of the loss.
        patch_size: ``p`` or ``(p_h, p_w)``.
        reduce: ``'channel'``, ``'batch'`` or ``'spatial'``, as in :class:`PCKALoss`.
    """

    def __init__(self, loss_weight: float = 1.0, patch_size: PatchSize = 16,
                 reduce: str = 'channel') -> None:
        super().__init__()
        self.loss_weight = loss_weight
        self.patch_size = pair_patch_size(patch_size)
        self.reduce = check_reduce(reduce)

    def forward(self, preds_S: FeatureLevels, preds_T: FeatureLevels) -> Tensor:
        """Loss for student / teacher levels ``(B, C, H, W)`` (one or a sequence)."""
        total = 0.0
        for level_s, level_t in paired_levels(preds_S, preds_T):
            total = total + self.loss_weight * patch_mmd(level_s, level_t,
                                                         self.patch_size, self.reduce)
        return total

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, patch_size={self.patch_size}, '
                f'reduce={self.reduce!r}')
