"""Choosing KDA landmarks other than class means: random samples and k-means centres.

Qian et al., *Improved Knowledge Distillation via Full Kernel Matrix Transfer* (SDM 2022):
random training samples as landmarks (Fig. 1) and several centres per class found by
clustering (Sec. 3.3, Fig. 6).

Both variants need actual samples, not running sums, so they keep a **uniform random
sample per group** (per class, or one group for the whole data set) with bounded memory:
every sample gets an independent uniform random key and a group keeps the ``size``
samples with the smallest keys seen so far (a bottom-k sketch). Merging two such samples
keeps the smallest keys of their union, so the sample of a whole epoch over several
ranks is the merge of the per-rank samples, and equals the one a single process would
have kept for the same keys. Everything is batched: no loop over groups or samples.
"""
from typing import Tuple

import torch
from torch import Tensor

EMPTY_KEY = float('inf')


def keep_smallest_keys_per_group(keys: Tensor, groups: Tensor, values: Tensor,
                                 num_groups: int, size: int) -> Tuple[Tensor, Tensor]:
    """Per group, the ``size`` entries with the smallest keys, sorted by key.

    Args:
        keys: ``(M,)`` float; ``inf`` marks an entry that is never kept.
        groups: ``(M,)`` long in ``[0, num_groups)``.
        values: ``(M, D)``.
        num_groups: ``G``.
        size: ``m``, entries kept per group.

    Returns:
        ``keys (G, m)`` sorted ascending, ``inf`` where a group has fewer than ``m``
        entries, and ``values (G, m, D)``, zero at those empty slots.
    """
    by_key = torch.argsort(keys, stable=True)
    order = by_key[torch.argsort(groups[by_key], stable=True)]
    sorted_groups = groups[order]
    group_sizes = torch.bincount(groups, minlength=num_groups)
    group_starts = torch.cumsum(group_sizes, 0) - group_sizes
    rank_in_group = torch.arange(keys.numel(), device=keys.device) - group_starts[sorted_groups]
    sorted_keys = keys[order]
    kept = (rank_in_group < size) & torch.isfinite(sorted_keys)
    discard_slot = num_groups * size
    slot = torch.where(kept, sorted_groups * size + rank_in_group,
                       torch.full_like(rank_in_group, discard_slot))
    out_keys = keys.new_full((discard_slot + 1,), EMPTY_KEY).scatter_(0, slot, sorted_keys)
    out_values = values.new_zeros(discard_slot + 1, values.shape[-1]).index_copy_(
        0, slot, values[order])
    return (out_keys[:discard_slot].view(num_groups, size),
            out_values[:discard_slot].view(num_groups, size, values.shape[-1]))


def kmeans_within_groups(points: Tensor, valid: Tensor, num_centers: int,
                         num_iters: int = 20) -> Tensor:
    """Lloyd's k-means run independently in every group, batched over groups.

    The initial centres of a group are its first ``num_centers`` valid points (with the
    bottom-k sample of :func:`keep_smallest_keys_per_group` these are random samples, so
    the result is deterministic for given keys). A cluster that loses all its points
    keeps its centre.

    Args:
        points: ``(G, m, D)``; the valid points of a group come first.
        valid: ``(G, m)`` bool.
        num_centers: ``k``.
        num_iters: Lloyd iterations.

    Returns:
        ``(G, m)`` long assignment in ``[0, k)``, ``k`` for invalid points. A group with
        fewer than ``k`` valid points leaves the clusters beyond its count empty.
    """
    centers = points[:, :num_centers]
    center_alive = valid[:, :num_centers]
    unassigned = torch.full_like(valid, num_centers, dtype=torch.long)

    def nearest_center(centers: Tensor) -> Tensor:
        # ||p - c||^2 - ||p||^2: same argmin over c, one batched matmul
        distances = (centers * centers).sum(-1)[:, None, :] - 2 * (points @ centers.mT)
        distances = distances.masked_fill(~center_alive[:, None, :], EMPTY_KEY)
        return torch.where(valid, distances.argmin(dim=-1), unassigned)

    for _ in range(num_iters):
        sums, counts = cluster_sums(points, nearest_center(centers), num_centers)
        centers = torch.where(counts[..., None] > 0,
                              sums / counts.clamp_min(1)[..., None], centers)
    return nearest_center(centers)


def cluster_sums(values: Tensor, assignment: Tensor,
                 num_clusters: int) -> Tuple[Tensor, Tensor]:
    """Per group and cluster, the sum and count of the assigned ``values``.

    Args:
        values: ``(G, m, D)``.
        assignment: ``(G, m)`` long in ``[0, k]``; ``k`` drops the entry.
        num_clusters: ``k``.

    Returns:
        ``sums (G, k, D)`` and ``counts (G, k)`` in the dtype of ``values``.
    """
    one_hot = torch.nn.functional.one_hot(assignment, num_clusters + 1)[..., :num_clusters]
    one_hot = one_hot.to(values.dtype)
    return one_hot.transpose(1, 2) @ values, one_hot.sum(dim=1)
