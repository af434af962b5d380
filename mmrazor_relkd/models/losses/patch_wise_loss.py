"""Any 2-D distillation loss applied patch group by patch group ("w/ patch", Zhou et
al., *Rethinking Centered Kernel Alignment in Knowledge Distillation*, IJCAI 2024,
Tab. 7)."""
from typing import Dict

import torch
from mmrazor.registry import MODELS
from torch import Tensor, nn

from mmrazor_relkd.functional.patch_cka import (FeatureLevels, PatchSize, check_reduce,
                                                pair_patch_size, paired_levels,
                                                patch_group_pair)


@MODELS.register_module()
class PatchWiseLoss(nn.Module):
    """Cut feature maps into patch groups as PCKA does and average a 2-D loss over them.

    The math, the defaults and their sources: ``docs/losses.md#patchwiseloss``.

    The levels are arranged exactly as in :class:`PCKALoss`: every group ``g`` (a
    channel for ``reduce='channel'``, an image for ``'batch'``, an in-patch position
    for ``'spatial'``) is a matrix with one row per patch. The inner loss, built from
    ``MODELS``, receives each group's ``(rows, columns)`` matrices as its ``(N, C)``
    inputs::

        loss = mean_g inner(S_g, T_g)          (summed over levels)

    For ``reduce='channel'`` and a 16 x 16 patch that is N = u*v patches ("samples")
    and C = B*16*16 values per patch ("classes"). With mmrazor's losses, which expect
    ``(N, C)`` logits:

    * ``KLDivergence`` (``reduction='batchmean'``): softmax of each patch row over its
      columns, KL summed over the columns and averaged over the patches
      ("KD w/ patch");
    * ``DISTLoss``: inter-class relation = Pearson correlation of each patch row,
      intra-class relation = Pearson correlation of each column over the patches
      ("DIST w/ patch").

    The loss weight is the inner loss's own ``loss_weight``. All groups are evaluated
    at once with ``torch.func.vmap`` (no loop over channels), so the inner loss must be
    written with tensor ops (no ``.item()`` or data-dependent Python branches) and
    return a scalar. The teacher is detached; under autocast the groups are passed in
    float32.

    Args:
        loss: config of the inner 2-D loss, e.g. ``dict(type='DISTLoss', tau=1.0)``.
        patch_size: ``p`` or ``(p_h, p_w)``.
        reduce: ``'channel'``, ``'batch'`` or ``'spatial'``, as in :class:`PCKALoss`.
    """

    def __init__(self, loss: Dict, patch_size: PatchSize = 16,
                 reduce: str = 'channel') -> None:
        super().__init__()
        if not isinstance(loss, dict) or 'type' not in loss:
            raise TypeError("PatchWiseLoss needs the inner loss as a config dict with a "
                            f"'type', e.g. loss=dict(type='DISTLoss'), got {loss!r}")
        self.loss = MODELS.build(loss)
        self.patch_size = pair_patch_size(patch_size)
        self.reduce = check_reduce(reduce)

    def _group_losses(self, groups_s: Tensor, groups_t: Tensor) -> Tensor:
        """The inner loss of every group, ``(groups,)``."""
        try:
            losses = torch.func.vmap(self.loss)(groups_s, groups_t)
        except RuntimeError as error:
            raise RuntimeError(
                f'PatchWiseLoss evaluates {type(self.loss).__name__} on all patch groups '
                'at once with torch.func.vmap, which failed; the inner loss must use '
                'tensor ops only (no .item() or data-dependent Python branches)') from error
        if losses.dim() != 1:
            raise ValueError(f'the inner loss {type(self.loss).__name__} must return a '
                             f'scalar per (N, C) pair, got shape {tuple(losses.shape[1:])}; '
                             "use a reducing setting (e.g. reduction='batchmean')")
        return losses

    def forward(self, preds_S: FeatureLevels, preds_T: FeatureLevels) -> Tensor:
        """Loss for student / teacher levels ``(B, C, H, W)`` (one or a sequence)."""
        total = 0.0
        for level_s, level_t in paired_levels(preds_S, preds_T):
            with torch.autocast(device_type=level_s.device.type, enabled=False):
                groups_s, groups_t = patch_group_pair(level_s, level_t, self.patch_size,
                                                      self.reduce)
                total = total + self._group_losses(groups_s, groups_t).mean()
        return total

    def extra_repr(self) -> str:
        return f'patch_size={self.patch_size}, reduce={self.reduce!r}'
