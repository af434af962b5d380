"""GNoRP under real data parallelism: two CPU processes (gloo) that see different
batches must keep the same lambda, the one that the gradient norms averaged over both
ranks give (``GNoRPDistill`` all-reduces them), also while the student trains."""
import os

import pytest
import torch
import torch.distributed as dist

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor.registry import MODELS
from mmrazor_relkd.models.distillers.gnorp_distill import GNoRPDistill, GNoRPWeight
from toy_classifier import ToyClassifier
from two_ranks import WORLD_SIZE, run_two_ranks

BATCH = 8  # per rank and step
FROZEN_STEPS = 3  # the student is not updated: every step is checked against a reference
TRAIN_STEPS = 3  # SGD steps on gradients averaged over the ranks, as DDP does
GNORP = dict(ratio=2.0, lr=0.05, feature=dict(recorder='feat'))


def _save_teacher(path: str) -> None:
    torch.manual_seed(1)
    torch.save(dict(state_dict=ToyClassifier(feat_dim=8, hidden=16).state_dict()), path)


def _algorithm(teacher_ckpt: str) -> GNoRPDistill:
    """The same model on every rank (same seed, same teacher checkpoint); lambda solved
    on the first batch."""
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='GNoRPDistill',
        architecture=ToyClassifier(feat_dim=5, hidden=16),
        teacher=ToyClassifier(feat_dim=8, hidden=16),
        teacher_ckpt=teacher_ckpt,
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
            teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
            distill_losses=dict(loss_makd=dict(type='AffinityLoss')),
            loss_forward_mappings=dict(loss_makd=dict(
                preds_S=dict(from_student=True, recorder='feat'),
                preds_T=dict(from_student=False, recorder='feat')))),
        gnorp=GNORP))


def _batch(step: int, rank: int):
    """Rank ``r`` gets batch ``2 * step + r`` (DistributedSampler-like split); the two
    ranks' batches differ in scale, so their gradient norms differ too."""
    gen = torch.Generator().manual_seed(step * WORLD_SIZE + rank)
    inputs = torch.randn(BATCH, 6, generator=gen) * (1 + rank)
    labels = torch.randint(0, 3, (BATCH, ), generator=gen)
    return inputs, labels


def _worker(rank: int, out_dir: str) -> dict:
    algorithm = _algorithm(os.path.join(out_dir, 'teacher.pth'))
    frozen = [algorithm.loss(*_batch(step, rank))['gnorp.lambda'].detach()
              for step in range(FROZEN_STEPS)]
    optimizer = torch.optim.SGD(algorithm.student.parameters(), lr=0.1)
    trained = []
    for step in range(FROZEN_STEPS, FROZEN_STEPS + TRAIN_STEPS):
        losses = algorithm.loss(*_batch(step, rank))
        trained.append(losses['gnorp.lambda'].detach())
        optimizer.zero_grad()
        algorithm.parse_losses(losses)[0].backward()
        for param in algorithm.student.parameters():
            dist.all_reduce(param.grad)
            param.grad /= WORLD_SIZE
        optimizer.step()
    return dict(frozen=torch.stack(frozen), trained=torch.stack(trained),
                student=algorithm.student.state_dict())


@pytest.fixture(scope='module')
def rank_results(tmp_path_factory):
    """Rank 0 runs in this process, rank 1 in a spawned one."""
    out_dir = str(tmp_path_factory.mktemp('gnorp_ddp'))
    _save_teacher(os.path.join(out_dir, 'teacher.pth'))
    return out_dir, run_two_ranks(_worker, out_dir)


def _grad_norms(algorithm: GNoRPDistill, step: int, rank: int) -> torch.Tensor:
    """``(||dL_main/dz||, ||dL_KD/dz||)`` of one rank's batch, in one process."""
    losses = super(GNoRPDistill, algorithm).loss(*_batch(step, rank))
    feature = algorithm.distiller.get_record('feat', from_student=True)
    return torch.stack([
        torch.autograd.grad(losses[key], feature, retain_graph=True)[0].norm()
        for key in ('student.loss', 'distill.loss_makd')])


def _reference_lambdas(out_dir: str, ranks):
    """Lambdas of one GNoRPWeight fed the mean over ``ranks`` of the per-batch norms."""
    algorithm = _algorithm(os.path.join(out_dir, 'teacher.pth'))
    weight = GNoRPWeight(**{k: v for k, v in GNORP.items() if k != 'feature'})
    lambdas = []
    for step in range(FROZEN_STEPS):
        norms = torch.stack([_grad_norms(algorithm, step, rank) for rank in ranks]).mean(0)
        lambdas.append(weight(norms[0], norms[1])[0])
    return torch.stack(lambdas)


def test_ranks_keep_the_lambda_of_the_averaged_norms(rank_results):
    out_dir, results_per_rank = rank_results
    expected = _reference_lambdas(out_dir, range(WORLD_SIZE))
    for results in results_per_rank:
        torch.testing.assert_close(results['frozen'], expected, rtol=1e-5, atol=0)


def test_ranks_keep_the_same_lambda_while_training(rank_results):
    first, second = rank_results[1]
    torch.testing.assert_close(first['trained'], second['trained'], rtol=0, atol=0)
    for name, value in first['student'].items():
        torch.testing.assert_close(second['student'][name], value, rtol=0, atol=0)


@pytest.mark.parametrize('rank', range(WORLD_SIZE))
def test_a_rank_alone_would_get_another_lambda(rank_results, rank):
    """Guard against a vacuous test: the norms of one rank's batches give other
    lambdas than the averaged ones, from the first (solved) step on."""
    out_dir, results_per_rank = rank_results
    alone = _reference_lambdas(out_dir, [rank])
    shared = results_per_rank[0]['frozen']
    assert ((alone - shared).abs() / shared > 1e-2).all(), (alone, shared)
