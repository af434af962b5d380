"""CKAMonitorHook's validation CKA under real data parallelism: two CPU processes
(gloo) that validate different batches (also different numbers of them, and none on one
rank) must both log the mean over every rank's batches."""
import os
from types import SimpleNamespace

import pytest
import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmengine.logging import MessageHub
from mmrazor.registry import MODELS
from mmrazor_relkd.engine.hooks.cka_monitor_hook import CKAMonitorHook
from toy_classifier import ToyClassifier
from two_ranks import WORLD_SIZE, run_two_ranks

BATCH = 6
# validation batches per rank: rank 0 sees batches 0 and 2, rank 1 batch 1; then rank 0
# sees 3 and 4, rank 1 none (a short last shard)
SPLITS = dict(uneven=([0, 2], [1]), one_rank_idle=([3, 4], []))


def _save_teacher(path: str) -> None:
    torch.manual_seed(1)
    torch.save(dict(state_dict=ToyClassifier(feat_dim=8, hidden=16).state_dict()), path)


def _algorithm(teacher_ckpt: str):
    torch.manual_seed(0)
    recorders = dict(feat=dict(type='ModuleOutputs', source='neck'))
    return MODELS.build(dict(
        type='SingleTeacherDistill',
        architecture=ToyClassifier(feat_dim=5, hidden=16),
        teacher=ToyClassifier(feat_dim=8, hidden=16),
        teacher_ckpt=teacher_ckpt,
        distiller=dict(type='ConfigurableDistiller', student_recorders=recorders,
                       teacher_recorders=recorders)))


def _batch(index: int) -> dict:
    gen = torch.Generator().manual_seed(100 + index)
    return dict(inputs=torch.randn(BATCH, 6, generator=gen) * (1 + index),
                data_samples=torch.randint(0, 3, (BATCH, ), generator=gen))


def _worker(rank: int, out_dir: str) -> dict:
    algorithm = _algorithm(os.path.join(out_dir, 'teacher.pth'))
    hook = CKAMonitorHook(pairs=dict(feat=('feat', 'feat')))
    results = {}
    for name, split in SPLITS.items():
        runner = SimpleNamespace(
            model=algorithm, message_hub=MessageHub.get_instance(f'cka_ddp_{name}'))
        hook.before_val(runner)
        for batch_idx, index in enumerate(split[rank]):
            # SingleTeacherDistillValLoop visits each batch twice
            for _ in range(2):
                hook.after_val_iter(runner, batch_idx, _batch(index))
        hook.after_val_epoch(runner)
        scalars = runner.message_hub.log_scalars
        results[name] = (scalars['val/cka/feat'].current()
                         if 'val/cka/feat' in scalars else float('nan'))
    return results


@pytest.fixture(scope='module')
def rank_results(tmp_path_factory):
    """Rank 0 runs in this process, rank 1 in a spawned one."""
    out_dir = str(tmp_path_factory.mktemp('cka_monitor_ddp'))
    _save_teacher(os.path.join(out_dir, 'teacher.pth'))
    return out_dir, run_two_ranks(_worker, out_dir)


def _reference_cka(out_dir: str, indices) -> float:
    """Mean over the batches of the uncentered float64 CKA of the neck outputs."""
    algorithm = _algorithm(os.path.join(out_dir, 'teacher.pth'))
    values = []
    with torch.no_grad():
        for index in indices:
            inputs = _batch(index)['inputs']
            x_s, x_t = (model.extract_feat(inputs)[-1].double()
                        for model in (algorithm.student, algorithm.teacher))
            k_s, k_t = x_s @ x_s.T, x_t @ x_t.T
            values.append(((k_s * k_t).sum() / (k_s.norm() * k_t.norm())).item())
    return sum(values) / len(values)


@pytest.mark.parametrize('split', SPLITS)
def test_every_rank_logs_the_mean_over_all_batches(rank_results, split):
    out_dir, results = rank_results
    expected = _reference_cka(out_dir, SPLITS[split][0] + SPLITS[split][1])
    for rank in range(WORLD_SIZE):
        assert results[rank][split] == pytest.approx(expected, abs=1e-6), rank


def test_a_rank_alone_would_log_another_mean(rank_results):
    """Guard against a vacuous test: each rank's own batches give other values."""
    out_dir, results = rank_results
    for indices in SPLITS['uneven']:
        assert abs(_reference_cka(out_dir, indices) - results[0]['uneven']) > 1e-3
