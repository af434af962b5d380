"""FKD: the teacher's feature kernel as the target of the student's (He & Ozay, *Feature
Kernel Distillation*, ICLR 2022)."""
from typing import Sequence, Union

import torch
from mmrazor.registry import MODELS
from torch import Tensor, nn

from mmrazor_relkd.functional.feature_kernel import FEATURE_KERNELS, feature_kernel_distance
from mmrazor_relkd.functional.precision import to_loss_precision


@MODELS.register_module()
class FKDLoss(nn.Module):
    """Feature kernel distillation with optional feature regularisation.

    The math, the defaults and their sources: ``docs/losses.md#fkdloss``.

    For student features ``z_S`` (B x d_S, each sample flattened to a row) and teacher
    features ``z_T,e`` of ``E >= 1`` teachers::

        K(z)_ij = <z_i, z_j> / (||z_i|| ||z_j||)       kernel='correlation'
        K(z)_ij = <z_i, z_j>                           kernel='linear'
        loss = loss_weight * mean_ij (K(z_S)_ij - (1/E) sum_e K(z_T,e)_ij)^2
             + feature_reg_weight * mean_i ||z_S,i||^2

    The kernels are B x B, so the feature sizes of student and teachers are free and
    the teachers need not share the student's label space (cross-dataset transfer, the
    paper's Tab. 1). The authors recommend the correlation kernel (only features that
    samples share should count) plus feature regularisation (it bounds the size of the
    feature extractor, which the scale-free correlation kernel does not). With an
    ensemble the target is the mean of the members' kernels (the paper's Theorem: the
    ensemble kernel carries the union of the features its members learnt).

    Args:
        loss_weight: weight of the kernel term.
        kernel: ``'correlation'`` (cosine) or ``'linear'``.
        feature_reg_weight: weight of the student feature regularisation; 0 disables it.
    """

    def __init__(self, loss_weight: float = 1.0, kernel: str = 'correlation',
                 feature_reg_weight: float = 0.0) -> None:
        super().__init__()
        if kernel not in FEATURE_KERNELS:
            raise ValueError(f'FKDLoss kernel must be one of {FEATURE_KERNELS}, got '
                             f'{kernel!r}')
        if feature_reg_weight < 0:
            raise ValueError(f'FKDLoss feature_reg_weight must be >= 0, got '
                             f'{feature_reg_weight}')
        self.loss_weight = loss_weight
        self.kernel = kernel
        self.feature_reg_weight = feature_reg_weight

    def forward(self, preds_S: Tensor,
                preds_T: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        """Loss for student features ``preds_S`` (B, ...) and teacher features
        ``preds_T`` (B, ...), or a list / tuple of them for an ensemble of teachers."""
        teachers = [preds_T] if isinstance(preds_T, Tensor) else list(preds_T)
        if not teachers:
            raise ValueError('FKDLoss got an empty list of teacher features; give one '
                             'tensor per teacher')
        if preds_S.dim() == 0 or any(t.dim() == 0 for t in teachers):
            raise ValueError('FKDLoss expects batched features (B, ...) from the student '
                             'and every teacher')
        batch = preds_S.shape[0]
        if any(t.shape[0] != batch for t in teachers):
            raise ValueError(
                f'FKDLoss needs the same batch of {batch} samples from the student and '
                f'from every teacher, got teacher shapes '
                f'{[tuple(t.shape) for t in teachers]}; record all features from the '
                f'same forward pass of the same batch')
        with torch.autocast(device_type=preds_S.device.type, enabled=False):
            student, *teachers = to_loss_precision(
                preds_S, *(t.detach() for t in teachers))
            student = student.reshape(batch, -1)
            teachers = [t.reshape(batch, -1) for t in teachers]
            loss = self.loss_weight * feature_kernel_distance(student, teachers,
                                                              self.kernel)
            if self.feature_reg_weight:
                loss = loss + self.feature_reg_weight * student.square().sum(-1).mean()
        return loss

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, kernel={self.kernel!r}, '
                f'feature_reg_weight={self.feature_reg_weight}')
