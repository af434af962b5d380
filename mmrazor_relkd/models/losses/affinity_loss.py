"""mAKD: modular affinity-based distillation (Li & Maki, *Towards a Unified View of
Affinity-Based Knowledge Distillation*, Sec. 3.1)."""
import torch
from mmrazor.registry import MODELS
from torch import Tensor, nn

from mmrazor_relkd.functional.affinity import (AFFINITIES, AFFINITY_LOSSES, NORMALIZATIONS,
                                               affinity_distillation_loss)
from mmrazor_relkd.functional.precision import to_loss_precision


@MODELS.register_module()
class AffinityLoss(nn.Module):
    """Affinity (relation) distillation loss from the 80-variant mAKD grid.

    The math, the defaults and their sources: ``docs/losses.md#affinityloss-makd``.

    For a batch of student / teacher features ``Z_S`` (B x d_S), ``Z_T`` (B x d_T)
    (each sample flattened to a row)::

        loss = loss_weight * L(f(g(Z_S)), f(g(Z_T)))

    * ``affinity`` g -> B x B matrix ``G``: ``'l1'`` / ``'l2'`` distance
      ``||z_i - z_j||_{1,2}``, ``'ip'`` inner product, ``'cs'`` cosine similarity.
    * ``normalize`` f: ``'l1'`` / ``'l2'`` every row of ``G`` to unit L1 / L2 norm,
      ``'avg'`` divide by the mean pairwise affinity (over the ``B(B-1)`` distinct pairs
      for the distances, as RKD does; over all ``B^2`` entries for ip / cs, Eq. 9),
      ``'max'`` divide by the largest entry, ``'none'``.
    * ``loss`` L: ``'l1'`` ``mean_ij |d_ij|``, ``'l2'`` ``mean_ij d_ij^2``, ``'sl1'``
      ``mean_ij smoothL1(d_ij)`` (beta 1) with ``d = G~_S - G~_T``; ``'kl'``
      ``(1/B) sum_ij P_T,ij log(P_T,ij / P_S,ij)``, ``P = row-wise softmax(G~)``.

    Published methods are points of the grid, reproduced exactly (see the tests):
    SP (Tung & Mori 2019) = (ip, l2, l2), RKD-distance (Park et al. 2019) =
    (l2, avg, sl1), CC bilinear (Peng et al. 2019) = (ip, none, l2). The paper's pick
    is (cs, l2, sl1), the default. mmrazor's ``DistanceWiseRKD(loss_weight=w,
    with_l2_norm=True)`` equals ``AffinityLoss('l2', 'avg', 'sl1', loss_weight=w)``
    applied to L2-normalised features (``with_l2_norm=False``: to the raw features),
    for batches without duplicate samples (mmrazor averages the distances ``> 0``,
    this loss the distinct pairs) and up to mmrazor's 1e-12 squared-distance clamp.

    Student and teacher only have to agree on the batch; their feature sizes are free.

    Args:
        affinity: one of ``'l1'``, ``'l2'``, ``'ip'``, ``'cs'``.
        normalize: one of ``'l1'``, ``'l2'``, ``'avg'``, ``'max'``, ``'none'``.
        loss: one of ``'l1'``, ``'l2'``, ``'sl1'``, ``'kl'``.
        loss_weight: the weight ``lambda`` (under GNoRP, a constant factor that the
            dynamic weight absorbs).
    """

    def __init__(self, affinity: str = 'cs', normalize: str = 'l2', loss: str = 'sl1',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        for name, value, choices in (('affinity', affinity, AFFINITIES),
                                     ('normalize', normalize, NORMALIZATIONS),
                                     ('loss', loss, AFFINITY_LOSSES)):
            if value not in choices:
                raise ValueError(f'AffinityLoss {name} must be one of {choices}, got '
                                 f'{value!r}')
        self.affinity = affinity
        self.normalize = normalize
        self.loss = loss
        self.loss_weight = loss_weight

    def forward(self, preds_S: Tensor, preds_T: Tensor) -> Tensor:
        """Loss for student features ``preds_S`` (B, ...) and teacher ``preds_T`` (B, ...)."""
        if preds_S.dim() == 0 or preds_T.dim() == 0:
            raise ValueError(
                f'AffinityLoss expects batched features (B, ...), got student shape '
                f'{tuple(preds_S.shape)} and teacher shape {tuple(preds_T.shape)}')
        batch = preds_S.shape[0]
        if preds_T.shape[0] != batch:
            raise ValueError(
                f'AffinityLoss needs the same batch for student and teacher, got '
                f'{batch} student and {preds_T.shape[0]} teacher samples (shapes '
                f'{tuple(preds_S.shape)} and {tuple(preds_T.shape)}); record both from '
                f'the same forward pass of the same batch')
        with torch.autocast(device_type=preds_S.device.type, enabled=False):
            student, teacher = to_loss_precision(preds_S, preds_T.detach())
            loss = affinity_distillation_loss(student.reshape(batch, -1),
                                              teacher.reshape(batch, -1),
                                              self.affinity, self.normalize, self.loss)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'affinity={self.affinity!r}, normalize={self.normalize!r}, '
                f'loss={self.loss!r}, loss_weight={self.loss_weight}')
