"""Patch arrangement of detector feature maps and patch-wise CKA (PCKA).

Zhou et al., *Rethinking Centered Kernel Alignment in Knowledge Distillation*
(IJCAI 2024), Sec. 3.4 and Fig. 2. One feature level ``(B, C, H, W)`` is resized
(bilinear, ``align_corners=False``; untouched when already a multiple) to
``(Hp, Wp)``, the smallest multiples of the patch size ``(p_h, p_w)`` that are
``>= (H, W)``, and cut into ``u x v`` non-overlapping patches (``u = Hp / p_h``,
``v = Wp / p_w``). The ``reduce`` mode picks the dimension the loss is averaged over;
each group is one matrix with a row per patch (row-major patch order)::

    reduce     groups      matrix per group   columns
    channel    C           (u*v, B*p_h*p_w)   (batch, row-in-patch, column-in-patch)
    batch      B           (u*v, C*p_h*p_w)   (channel, row-in-patch, column-in-patch)
    spatial    p_h*p_w     (u*v, B*C)         (batch, channel)

PCKA then averages the kernel alignment over the groups::

    intra = mean_g CKA(T_g, S_g)        (Gram matrix over the u*v patches)
    inter = mean_g CKA(T_g^T, S_g^T)    (Gram matrix over the columns)

with :func:`~mmrazor_relkd.functional.kernel_alignment.linear_cka` (both terms
together with ``linear_cka_pair``, which shares the Gram matrices). The arrangement
is one ``reshape``/``permute`` of the whole level (no loop over channels).
"""
import logging
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor

from .kernel_alignment import linear_cka, linear_cka_pair
from .precision import to_loss_precision

PatchSize = Union[int, Sequence[int]]
FeatureLevels = Union[Tensor, Sequence[Tensor]]
REDUCE_MODES = ('channel', 'batch', 'spatial')

# Axes of a level viewed as (B, C, u, p_h, v, p_w), permuted to (group, u, v, columns).
_GROUP_LAYOUT = {
    'channel': (1, 2, 4, 0, 3, 5),
    'batch': (0, 2, 4, 1, 3, 5),
    'spatial': (3, 5, 2, 4, 0, 1),
}
_CONNECTOR_EXAMPLE = (
    "connectors=dict(s_fpn0_connector=dict(type='ConvModuleConnector', in_channel={s}, "
    "out_channel={t}, kernel_size=1, norm_cfg=None, act_cfg=None))\n"
    "and route the student features through it in loss_forward_mappings, e.g. "
    "preds_S=dict(from_student=True, recorder='fpn0', connector='s_fpn0_connector')")


def pair_patch_size(patch_size: PatchSize) -> Tuple[int, int]:
    """``(p_h, p_w)`` from an int or an ``(h, w)`` pair of positive ints."""
    size = (patch_size, patch_size) if isinstance(patch_size, int) else patch_size
    if not (isinstance(size, (tuple, list)) and len(size) == 2 and all(
            isinstance(p, int) and not isinstance(p, bool) and p > 0 for p in size)):
        raise ValueError(f'patch_size must be a positive int or a pair (h, w) of '
                         f'positive ints, got {patch_size!r}')
    return tuple(size)


def check_reduce(reduce: str) -> str:
    """Return ``reduce`` if it is one of :data:`REDUCE_MODES`, else raise."""
    if reduce not in REDUCE_MODES:
        raise ValueError(f'reduce must be one of {REDUCE_MODES}, got {reduce!r}')
    return reduce


def patch_grid_size(height: int, width: int, patch: Tuple[int, int]) -> Tuple[int, int]:
    """The smallest multiples of the patch size that are ``>= (height, width)``."""
    return -(-height // patch[0]) * patch[0], -(-width // patch[1]) * patch[1]


def patch_groups(feat: Tensor, patch: Tuple[int, int], reduce: str) -> Tensor:
    """Resize one ``(B, C, H, W)`` level to its patch grid and arrange it in groups.

    Returns:
        ``(groups, u*v, columns)`` as in the table of the module docstring.
    """
    b, c, h, w = feat.shape
    grid = patch_grid_size(h, w, patch)
    if grid != (h, w):
        feat = F.interpolate(feat, size=grid, mode='bilinear', align_corners=False)
    u, v = grid[0] // patch[0], grid[1] // patch[1]
    groups = {'channel': c, 'batch': b, 'spatial': patch[0] * patch[1]}[reduce]
    blocks = feat.reshape(b, c, u, patch[0], v, patch[1])
    return blocks.permute(_GROUP_LAYOUT[reduce]).reshape(groups, u * v, -1)


def paired_levels(preds_S: FeatureLevels,
                  preds_T: FeatureLevels) -> List[Tuple[Tensor, Tensor]]:
    """``[(student, teacher), ...]`` from one level or equally long level sequences."""
    if isinstance(preds_S, Tensor) and isinstance(preds_T, Tensor):
        return [(preds_S, preds_T)]
    if isinstance(preds_S, Tensor) or isinstance(preds_T, Tensor):
        raise TypeError('preds_S and preds_T must both be tensors or both be '
                        f'tuples/lists of tensors, got {type(preds_S).__name__} and '
                        f'{type(preds_T).__name__}')
    if len(preds_S) != len(preds_T) or not preds_S:
        raise ValueError(f'the student gives {len(preds_S)} feature levels and the '
                         f'teacher {len(preds_T)}: pass the same, non-zero number of '
                         'levels (one loss per level pair, summed)')
    others = {type(level).__name__ for level in (*preds_S, *preds_T)
              if not isinstance(level, Tensor)}
    if others:
        raise TypeError(f'every feature level must be a tensor, got {sorted(others)}')
    return list(zip(preds_S, preds_T))


def _check_level_pair(preds_S: Tensor, preds_T: Tensor, patch: Tuple[int, int]) -> None:
    """Raise a clear error unless the two levels can be compared patch by patch."""
    for name, feat in (('student', preds_S), ('teacher', preds_T)):
        if feat.dim() != 4 or feat.numel() == 0:
            raise ValueError(f'patch-wise distillation expects non-empty (B, C, H, W) '
                             f'feature maps, got {tuple(feat.shape)} from the {name}')
    if preds_S.shape[0] != preds_T.shape[0]:
        raise ValueError(f'batch size mismatch: the student gives {preds_S.shape[0]} '
                         f'images and the teacher {preds_T.shape[0]}; both must see the '
                         'same batch')
    if preds_S.shape[1] != preds_T.shape[1]:
        s, t = preds_S.shape[1], preds_T.shape[1]
        raise ValueError(
            f'channel mismatch: the student has {s} channels and the teacher {t}. '
            f'Map the student features to {t} channels with an mmrazor connector in the '
            'distiller config, e.g.\n' + _CONNECTOR_EXAMPLE.format(s=s, t=t))
    grid_s = patch_grid_size(preds_S.shape[2], preds_S.shape[3], patch)
    grid_t = patch_grid_size(preds_T.shape[2], preds_T.shape[3], patch)
    if grid_s != grid_t:
        raise ValueError(
            f'spatial size mismatch: the student level {tuple(preds_S.shape[2:])} rounds '
            f'up to the patch grid {grid_s} and the teacher level '
            f'{tuple(preds_T.shape[2:])} to {grid_t} (patch size {patch}); pair feature '
            'levels of the same stride (e.g. the same FPN level)')
    if grid_s == patch:
        # mmengine's logger: the run's log file gets it, and its duplicate filter
        # keeps it to once per run however many iterations repeat it
        print_log(f'PCKA: a {tuple(preds_S.shape[2:])} level is a single {patch} patch: '
                  'its Gram matrix over patches is 1 x 1, so it carries no relation to '
                  'distil; use a smaller patch_size for small feature maps',
                  logger='current', level=logging.WARNING)


def patch_group_pair(preds_S: Tensor, preds_T: Tensor, patch_size: PatchSize,
                     reduce: str) -> Tuple[Tensor, Tensor]:
    """Check, cast to the loss precision, detach the teacher and arrange both levels.

    Half inputs become float32 and float64 wins over float32
    (:func:`~mmrazor_relkd.functional.precision.to_loss_precision`); call it with
    autocast disabled (as the functions below do) so that what follows keeps it.

    Returns:
        ``(student groups, teacher groups)``, each ``(groups, u*v, columns)``.
    """
    patch = pair_patch_size(patch_size)
    check_reduce(reduce)
    _check_level_pair(preds_S, preds_T, patch)
    preds_S, preds_T = to_loss_precision(preds_S, preds_T.detach())
    return patch_groups(preds_S, patch, reduce), patch_groups(preds_T, patch, reduce)


def patch_cka(preds_S: Tensor, preds_T: Tensor, patch_size: PatchSize = 16,
              reduce: str = 'channel', centered: bool = False, row_norm: bool = False,
              inter: bool = False) -> Tuple[Tensor, Optional[Tensor]]:
    """Patch-wise CKA of one student / teacher level (the teacher is detached).

    Computed in float32 under autocast (float64 inputs stay float64).

    Args:
        preds_S: student level ``(B, C, H, W)``.
        preds_T: teacher level ``(B, C, H', W')`` rounding up to the same patch grid.
        patch_size: ``p`` or ``(p_h, p_w)``.
        reduce: ``'channel'``, ``'batch'`` or ``'spatial'`` (see the module docstring).
        centered: true linear CKA (centering matrix) instead of the authors' uncentered
            alignment.
        row_norm: divide each Gram row by the square root of its diagonal entry.
        inter: also compute the transposed (column Gram) alignment.

    Returns:
        ``(intra, inter)`` scalar means over the groups; ``inter`` is None unless
        requested.
    """
    with torch.autocast(device_type=preds_S.device.type, enabled=False):
        groups_s, groups_t = patch_group_pair(preds_S, preds_T, patch_size, reduce)
        if not inter:
            return linear_cka(groups_t, groups_s, centered, row_norm).mean(), None
        intra, inter = linear_cka_pair(groups_t, groups_s, centered, row_norm)
        return intra.mean(), inter.mean()
