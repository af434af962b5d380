"""Bottom-k samples per group and k-means within groups against explicit loops."""
import pytest
import torch

from mmrazor_relkd.functional.landmark_selection import (cluster_sums,
                                                         keep_smallest_keys_per_group,
                                                         kmeans_within_groups)


def _reference_bottom_k(keys, groups, values, num_groups, size):
    out = []
    for g in range(num_groups):
        rows = sorted((float(keys[i]), i) for i in range(len(keys))
                      if int(groups[i]) == g and keys[i] != float('inf'))[:size]
        out.append([(k, values[i]) for k, i in rows])
    return out


@pytest.mark.parametrize('count,num_groups,size', [(30, 3, 4), (5, 4, 3), (0, 2, 2)])
def test_keeps_smallest_keys_per_group(count, num_groups, size):
    gen = torch.Generator().manual_seed(count)
    keys = torch.rand(count, generator=gen, dtype=torch.float64)
    keys[::7] = float('inf')  # never kept
    groups = torch.randint(0, num_groups, (count, ), generator=gen)
    values = torch.randn(count, 2, generator=gen)
    out_keys, out_values = keep_smallest_keys_per_group(keys, groups, values, num_groups, size)
    assert out_keys.shape == (num_groups, size) and out_values.shape == (num_groups, size, 2)
    for g, kept in enumerate(_reference_bottom_k(keys, groups, values, num_groups, size)):
        for slot, (key, value) in enumerate(kept):
            assert out_keys[g, slot].item() == key
            torch.testing.assert_close(out_values[g, slot], value)
        assert torch.isinf(out_keys[g, len(kept):]).all()
        assert (out_values[g, len(kept):] == 0).all()


def test_merging_samples_equals_sampling_the_union():
    gen = torch.Generator().manual_seed(0)
    keys = torch.rand(40, generator=gen, dtype=torch.float64)
    groups = torch.randint(0, 3, (40, ), generator=gen)
    values = torch.randn(40, 2, generator=gen)
    whole = keep_smallest_keys_per_group(keys, groups, values, 3, 4)
    parts = [keep_smallest_keys_per_group(keys[s], groups[s], values[s], 3, 4)
             for s in (slice(0, 17), slice(17, 40))]
    slot_groups = torch.arange(3).repeat_interleave(4)
    merged = keep_smallest_keys_per_group(
        torch.cat([k.flatten() for k, _ in parts]), slot_groups.repeat(2),
        torch.cat([v.reshape(-1, 2) for _, v in parts]), 3, 4)
    torch.testing.assert_close(merged[0], whole[0])
    torch.testing.assert_close(merged[1], whole[1])


def test_cluster_sums():
    values = torch.arange(12.).reshape(1, 4, 3)
    assignment = torch.tensor([[1, 0, 1, 2]])  # 2 = dropped
    sums, counts = cluster_sums(values, assignment, 2)
    torch.testing.assert_close(sums, torch.stack([values[0, 1], values[0, 0] + values[0, 2]])[None])
    torch.testing.assert_close(counts, torch.tensor([[1., 2.]]))


def test_kmeans_separates_clusters_in_every_group():
    gen = torch.Generator().manual_seed(0)
    centres = torch.tensor([[[5., 5.], [-5., -5.], [5., -5.]],
                            [[0., 9.], [0., -9.], [9., 0.]]])
    truth = torch.randint(0, 3, (2, 30), generator=gen)
    truth[:, :3] = torch.tensor([0, 1, 2])  # initial centres cover every cluster
    points = torch.gather(centres, 1, truth[..., None].expand(2, 30, 2))
    points = points + 0.3 * torch.randn(2, 30, 2, generator=gen)
    valid = torch.ones(2, 30, dtype=torch.bool)
    valid[1, 25:] = False
    assignment = kmeans_within_groups(points, valid, 3)
    assert (assignment[1, 25:] == 3).all()
    for g in range(2):
        for i in range(30 if g == 0 else 25):
            same = truth[g, :25] == truth[g, i]
            assert (assignment[g, :25][same] == assignment[g, i]).all()


def test_kmeans_with_fewer_points_than_centres_leaves_clusters_empty():
    points = torch.tensor([[[1., 0.], [0., 0.], [0., 0.]]])
    valid = torch.tensor([[True, False, False]])
    assignment = kmeans_within_groups(points, valid, 2)
    assert assignment.tolist() == [[0, 2, 2]]
    _, counts = cluster_sums(points, assignment, 2)
    assert counts.tolist() == [[1., 0.]]
