"""KDA landmarks under real data parallelism: two CPU processes (gloo), each seeing a
different half of the data, must end with the global class means, also when the loss
sits in a DistributedDataParallel model that broadcasts buffers at every forward."""
from typing import Dict

import pytest
import torch
from torch import nn

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor_relkd.models.losses.kda_loss import KDALoss
from two_ranks import WORLD_SIZE, run_two_ranks

NUM_CLASSES = 5
D_IN, D_S, D_T = 4, 3, 6
BATCH = 6  # per rank and step
STEPS = 4  # per rank


def _dataset():
    """The whole epoch: STEPS * WORLD_SIZE batches; class 4 never occurs."""
    gen = torch.Generator().manual_seed(0)
    count = STEPS * WORLD_SIZE * BATCH
    return (torch.randn(count, D_IN, generator=gen, dtype=torch.float64),
            torch.randn(count, D_T, generator=gen, dtype=torch.float64),
            torch.randint(0, NUM_CLASSES - 1, (count, ), generator=gen))


def _rank_batches(rank: int):
    """Rank ``r`` gets batches r, r + 2, r + 4, ... (DistributedSampler-like split)."""
    inputs, feats_t, labels = _dataset()
    for step in range(STEPS):
        rows = slice((step * WORLD_SIZE + rank) * BATCH, (step * WORLD_SIZE + rank + 1) * BATCH)
        yield inputs[rows], feats_t[rows], labels[rows]


class _Student(nn.Module):
    """A linear student whose output feeds a KDA loss (DDP needs parameters)."""

    def __init__(self, **loss_kwargs) -> None:
        super().__init__()
        self.linear = nn.Linear(D_IN, D_S).double()
        with torch.no_grad():
            self.linear.weight.copy_(torch.arange(D_S * D_IN, dtype=torch.float64).reshape(
                D_S, D_IN) / 10 - 0.5)
            self.linear.bias.fill_(0.25)
        self.kda = KDALoss(num_classes=NUM_CLASSES, student_channels=D_S,
                           teacher_channels=D_T, warmup_epochs=1, **loss_kwargs).double()

    def forward(self, inputs, feats_t, labels):
        return self.kda(self.linear(inputs), feats_t, labels)


def _epoch(model: nn.Module, rank: int, backward: bool) -> None:
    for inputs, feats_t, labels in _rank_batches(rank):
        loss = model(inputs, feats_t, labels)
        if backward:
            loss.backward()


def _state(module: KDALoss) -> Dict[str, torch.Tensor]:
    return {name: buffer.clone() for name, buffer in module.named_buffers()}


def _ddp_results(rank: int) -> Dict[str, torch.Tensor]:
    """The landmarks of KDA losses inside DDP models (freed on return, while the process
    group lives: torch 2.1 can deadlock when a DDP model's reducer holds the group's
    last reference, whose destructor joins the gloo threads holding the GIL)."""
    results = {}
    # DDP's default: buffers are broadcast from rank 0 at every forward
    wrapped = nn.parallel.DistributedDataParallel(_Student())
    with torch.no_grad():
        wrapped.module.kda.landmarks_teacher.fill_(rank + 1)
    wrapped.eval()  # a probe, not a training step: no sums, no gradient
    with torch.no_grad():
        wrapped(*next(_rank_batches(rank)))
    wrapped.train()
    results['landmark_after_broadcast'] = wrapped.module.kda.landmarks_teacher.clone()
    wrapped.module.kda.landmarks_teacher.zero_()
    for epoch in range(2):  # second epoch: loss active, landmarks broadcast each step
        _epoch(wrapped, rank, backward=True)
        wrapped.module.kda.update_landmarks()
    results['ddp'] = _state(wrapped.module.kda)

    for name, kwargs in (('random', dict(landmarks='random_samples')),
                         ('kmeans', dict(centers_per_class=2, kmeans_samples_per_class=4))):
        model = nn.parallel.DistributedDataParallel(_Student(**kwargs))
        _epoch(model, rank, backward=True)
        model.module.kda.update_landmarks()
        results[name] = _state(model.module.kda)
    return results


def _worker(rank: int, out_dir: str) -> dict:
    results = {}
    plain = _Student()  # all-reduce alone, no DDP
    _epoch(plain, rank, backward=False)
    plain.kda.update_landmarks()
    results['plain'] = _state(plain.kda)
    results.update(_ddp_results(rank))

    bad = _Student()  # only rank 1 sees a bad label; both ranks must raise
    inputs, feats_t, labels = next(_rank_batches(rank))
    if rank == 1:
        labels = labels.clone()
        labels[0] = NUM_CLASSES + 2
    bad(inputs, feats_t, labels)
    try:
        bad.kda.update_landmarks()
        results['bad_label_error'] = ''
    except ValueError as error:
        results['bad_label_error'] = str(error)
    return results


@pytest.fixture(scope='module')
def rank_results(tmp_path_factory):
    """Rank 0 runs in this process, rank 1 in a spawned one."""
    return run_two_ranks(_worker, str(tmp_path_factory.mktemp('kda_ddp')))


def _single_process_class_means():
    """Class means over all the data, one explicit loop, one process."""
    inputs, feats_t, labels = _dataset()
    feats_s = _Student().linear(inputs).detach()
    means_s = torch.zeros(NUM_CLASSES, D_S, dtype=torch.float64)
    means_t = torch.zeros(NUM_CLASSES, D_T, dtype=torch.float64)
    for c in range(NUM_CLASSES):
        rows = [i for i in range(len(labels)) if int(labels[i]) == c]
        if rows:
            means_s[c] = sum(feats_s[i] for i in rows) / len(rows)
            means_t[c] = sum(feats_t[i] for i in rows) / len(rows)
    return means_s, means_t


@pytest.mark.parametrize('setting', ['plain', 'ddp'])
def test_every_rank_holds_the_global_class_means(rank_results, setting):
    """The DDP model's student is never stepped, so both epochs see the same features."""
    means_s, means_t = _single_process_class_means()
    for results in rank_results:
        state = results[setting]
        torch.testing.assert_close(state['landmarks_student'], means_s, atol=1e-6, rtol=0)
        torch.testing.assert_close(state['landmarks_teacher'], means_t, atol=1e-6, rtol=0)
        assert state['landmarks_student'][NUM_CLASSES - 1].abs().sum() == 0  # unseen class
        assert int(state['num_updates']) == (1 if setting == 'plain' else 2)


def test_ddp_did_overwrite_buffers_with_rank_0s(rank_results):
    """Guard: the DDP setting really broadcasts buffers, so per-rank sums kept in
    buffers would have been lost."""
    for results in rank_results:
        assert (results['landmark_after_broadcast'] == 1).all()


def test_a_rank_holding_only_its_half_would_differ(rank_results):
    """Guard against a vacuous test: each half alone gives other means."""
    inputs, feats_t, labels = _dataset()
    half_rows = torch.cat([torch.arange(s * BATCH, (s + 1) * BATCH)
                           for s in range(0, STEPS * WORLD_SIZE, WORLD_SIZE)])
    half_mean = feats_t[half_rows][labels[half_rows] == 0].mean(0)
    assert not torch.allclose(half_mean, rank_results[0]['plain']['landmarks_teacher'][0],
                              atol=1e-3)


@pytest.mark.parametrize('variant', ['random', 'kmeans'])
def test_variant_landmarks_agree_across_ranks(rank_results, variant):
    first, second = (results[variant] for results in rank_results)
    torch.testing.assert_close(first['landmarks_student'], second['landmarks_student'],
                               atol=0, rtol=0)
    torch.testing.assert_close(first['landmarks_teacher'], second['landmarks_teacher'],
                               atol=0, rtol=0)
    assert first['landmarks_teacher'].abs().sum() > 0


def test_random_landmarks_are_samples_of_both_ranks(rank_results):
    _, feats_t, _ = _dataset()
    landmarks = rank_results[0]['random']['landmarks_teacher']
    sample_index = [int((feats_t == row).all(1).nonzero()) for row in landmarks]
    assert len(set(sample_index)) == NUM_CLASSES
    owners = {(index // BATCH) % WORLD_SIZE for index in sample_index}
    assert owners == {0, 1}  # drawn from the union, not from one rank's half


def test_bad_label_on_one_rank_raises_on_every_rank(rank_results):
    for results in rank_results:
        assert f'label {NUM_CLASSES + 2} outside [0, num_classes) = [0, {NUM_CLASSES})' in \
            results['bad_label_error']
