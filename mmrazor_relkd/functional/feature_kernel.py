"""Feature kernels and the feature-kernel distillation objective (He & Ozay, *Feature
Kernel Distillation*, ICLR 2022).

For a batch of features ``Z`` (n x d), row ``i`` the features of sample ``i``::

    linear:       K_ij = <z_i, z_j>
    correlation:  K_ij = <z_i, z_j> / (||z_i|| ||z_j||)     (cosine; the authors' pick)

FKD regresses the student's kernel onto the teacher's; with an ensemble of ``E``
teachers the target is the mean of their kernels (an ensemble's feature kernel learns
the union of its members' features, the paper's Theorem)::

    D(Z_S, {Z_T,e}) = mean_ij (K(Z_S)_ij - (1/E) sum_e K(Z_T,e)_ij)^2
"""
from typing import Sequence, Union

import torch
from torch import Tensor

FEATURE_KERNELS = ('correlation', 'linear')

_TINY = 1e-12


def feature_kernel(features: Tensor, kernel: str = 'correlation') -> Tensor:
    """Feature kernel of batched feature matrices.

    Args:
        features: ``(..., n, d)``; each row one sample's features.
        kernel: ``'correlation'`` (cosine similarity; all-zero rows give 0) or
            ``'linear'`` (inner product).

    Returns:
        ``(..., n, n)`` kernel matrices.
    """
    if kernel not in FEATURE_KERNELS:
        raise ValueError(f'kernel must be one of {FEATURE_KERNELS}, got {kernel!r}')
    if features.dim() < 2:
        raise ValueError(f'feature_kernel expects (..., n, d) features, got shape '
                         f'{tuple(features.shape)}')
    if kernel == 'correlation':
        norms = torch.linalg.vector_norm(features, dim=-1, keepdim=True)
        features = features / norms.clamp_min(_TINY)
    return features @ features.mT


def feature_kernel_distance(student: Tensor,
                            teachers: Union[Tensor, Sequence[Tensor]],
                            kernel: str = 'correlation') -> Tensor:
    """Mean squared difference between the student kernel and the (mean) teacher kernel.

    Args:
        student: ``(..., n, d_S)`` student features.
        teachers: ``(..., n, d_T)`` teacher features, or a sequence of them (an
            ensemble; the feature sizes may differ between members).
        kernel: see :func:`feature_kernel`.

    Returns:
        ``(...)`` distances.
    """
    if isinstance(teachers, Tensor):
        teachers = [teachers]
    if len(teachers) == 0:
        raise ValueError('feature_kernel_distance needs at least one teacher')
    for teacher in teachers:
        if teacher.shape[:-1] != student.shape[:-1]:
            raise ValueError(
                f'teacher features of shape {tuple(teacher.shape)} do not match the '
                f'student features of shape {tuple(student.shape)}: all but the last '
                f'(feature) dimension must be equal, i.e. the same samples')
    target = torch.stack([feature_kernel(t, kernel) for t in teachers]).mean(dim=0)
    return (feature_kernel(student, kernel) - target).square().mean(dim=(-2, -1))
