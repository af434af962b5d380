"""The modular affinity-based distillation objective, mAKD (Li & Maki, *Towards a Unified
View of Affinity-Based Knowledge Distillation*, Sec. 3.1)::

    L(Z_S, Z_T) = loss(f(g(Z_S)), f(g(Z_T)))

for a batch of features ``Z`` (b x d), with

* affinity ``g`` (b x b matrix ``G``, Eq. 4-7): ``'l1'`` ``||z_i - z_j||_1``,
  ``'l2'`` ``||z_i - z_j||_2``, ``'ip'`` ``<z_i, z_j>``, ``'cs'`` cosine similarity;
* normalisation ``f`` (Eq. 8-9): ``'l1'`` / ``'l2'`` each row to unit L1 / L2 norm,
  ``'avg'`` divide by the mean pairwise affinity, ``'max'`` divide by the largest entry,
  ``'none'``;
* ``loss`` (Eq. 10-14): ``'l1'`` ``|x|``, ``'l2'`` ``x^2``, ``'sl1'`` smooth-L1 (beta 1) of
  the entry-wise difference, averaged over the ``b^2`` entries; ``'kl'``
  ``(1/b) sum_ij P_T log(P_T / P_S)`` with ``P = softmax`` of each row.

Conventions, chosen so that the published methods the paper places in the grid are
reproduced exactly:

* The regression losses are the **mean** over the ``b^2`` entries (Eq. 10 writes a sum,
  ``b^2`` times larger; a constant the loss weight / GNoRP absorbs). This is the
  ``1/b^2`` of SP (Tung & Mori 2019) and CC (Peng et al. 2019) and the elementwise mean
  of RKD (Park et al. 2019).
* ``'avg'`` divides by the mean affinity over the pairs the matrix compares: for the
  distance affinities (``'l1'``, ``'l2'``, zero diagonal) over the ``b(b-1)`` distinct
  pairs, RKD's ``mu``, so (l2, avg, sl1) *is* RKD-distance; for ``'ip'`` / ``'cs'`` over
  all ``b^2`` entries as Eq. 9 writes it (their off-diagonal mean can be zero or
  negative, the full mean ``||sum_i z_i||^2 / b^2`` cannot). Eq. 9's full mean on a
  distance matrix is ``(b - 1) / b`` times RKD's.

Every function is batched over leading dimensions ``(..., b, d)`` (no Python loop over
samples or groups).
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

AFFINITIES: Tuple[str, ...] = ('l1', 'l2', 'ip', 'cs')
NORMALIZATIONS: Tuple[str, ...] = ('l1', 'l2', 'avg', 'max', 'none')
AFFINITY_LOSSES: Tuple[str, ...] = ('l1', 'l2', 'sl1', 'kl')
DISTANCE_AFFINITIES: Tuple[str, ...] = ('l1', 'l2')

_TINY = 1e-12


def _check_choice(name: str, value: str, choices: Tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f'{name} must be one of {choices}, got {value!r}')


def affinity_matrix(features: Tensor, affinity: str = 'cs') -> Tensor:
    """Pairwise affinities ``G_ij = g(z_i, z_j)`` of batched features.

    Args:
        features: ``(..., b, d)``; each row one sample.
        affinity: one of :data:`AFFINITIES`. The distances are computed from the
            differences (not from a Gram matrix), exact and with a zero diagonal whose
            gradient is zero; all-zero rows have cosine similarity 0.

    Returns:
        ``(..., b, b)``.
    """
    _check_choice('affinity', affinity, AFFINITIES)
    if features.dim() < 2:
        raise ValueError(f'affinity_matrix expects (..., b, d) features, got shape '
                         f'{tuple(features.shape)}')
    if affinity in DISTANCE_AFFINITIES:
        rows = features.reshape(-1, *features.shape[-2:])
        distances = torch.cdist(rows, rows, p=1.0 if affinity == 'l1' else 2.0,
                                compute_mode='donot_use_mm_for_euclid_dist')
        return distances.reshape(*features.shape[:-1], features.shape[-2])
    if affinity == 'cs':
        norms = torch.linalg.vector_norm(features, dim=-1, keepdim=True)
        features = features / norms.clamp_min(_TINY)
    return features @ features.mT


def normalize_affinity(affinity: Tensor, normalize: str = 'l2',
                       exclude_diagonal: bool = False) -> Tensor:
    """Normalise batched affinity matrices ``(..., b, b)``.

    Args:
        affinity: ``(..., b, b)`` affinity matrices.
        normalize: one of :data:`NORMALIZATIONS`.
        exclude_diagonal: for ``'avg'``, average over the ``b(b-1)`` off-diagonal
            entries instead of all ``b^2`` (the mean pairwise distance of RKD).

    Returns:
        The normalised matrices, same shape.
    """
    _check_choice('normalize', normalize, NORMALIZATIONS)
    if normalize == 'none':
        return affinity
    if normalize in ('l1', 'l2'):
        order = 1.0 if normalize == 'l1' else 2.0
        scale = torch.linalg.vector_norm(affinity, ord=order, dim=-1, keepdim=True)
    elif normalize == 'avg':
        size = affinity.shape[-1]
        pairs = size * (size - 1) if exclude_diagonal else size * size
        scale = affinity.sum(dim=(-2, -1), keepdim=True) / max(pairs, 1)
    else:
        scale = affinity.amax(dim=(-2, -1), keepdim=True)
    return affinity / scale.clamp_min(_TINY)


def affinity_discrepancy(student: Tensor, teacher: Tensor, loss: str = 'sl1') -> Tensor:
    """Discrepancy between normalised affinity matrices ``(..., b, b)`` -> ``(...)``.

    Regression losses average over the ``b^2`` entries; ``'kl'`` is
    ``KL(softmax(teacher row) || softmax(student row))`` summed over each row and
    averaged over the ``b`` rows.
    """
    _check_choice('loss', loss, AFFINITY_LOSSES)
    if loss == 'kl':
        log_p_s = F.log_softmax(student, dim=-1)
        log_p_t = F.log_softmax(teacher, dim=-1)
        return (log_p_t.exp() * (log_p_t - log_p_s)).sum(dim=-1).mean(dim=-1)
    diff = student - teacher
    if loss == 'l1':
        per_entry = diff.abs()
    elif loss == 'l2':
        per_entry = diff.square()
    else:
        per_entry = F.smooth_l1_loss(diff, torch.zeros_like(diff), reduction='none',
                                     beta=1.0)
    return per_entry.mean(dim=(-2, -1))


def affinity_distillation_loss(student: Tensor, teacher: Tensor, affinity: str = 'cs',
                               normalize: str = 'l2', loss: str = 'sl1') -> Tensor:
    """mAKD objective ``loss(f(g(Z_S)), f(g(Z_T)))`` of batched features.

    Args:
        student: ``(..., b, d_S)`` student features.
        teacher: ``(..., b, d_T)`` teacher features (same samples; ``d_T`` may differ).
        affinity, normalize, loss: the three modules (see the module docstring).

    Returns:
        ``(...)`` losses.
    """
    if student.shape[:-1] != teacher.shape[:-1]:
        raise ValueError(
            f'student features {tuple(student.shape)} and teacher features '
            f'{tuple(teacher.shape)} must agree in all but the last (feature) '
            f'dimension, i.e. describe the same samples')
    exclude_diagonal = affinity in DISTANCE_AFFINITIES
    g_s = normalize_affinity(affinity_matrix(student, affinity), normalize,
                             exclude_diagonal)
    g_t = normalize_affinity(affinity_matrix(teacher, affinity), normalize,
                             exclude_diagonal)
    return affinity_discrepancy(g_s, g_t, loss)
