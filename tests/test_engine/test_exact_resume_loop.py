"""ExactResumeEpochBasedTrainLoop in one process: a run stopped after a checkpoint (in
the middle of an epoch, or at an epoch boundary followed by validation) and resumed
ends with the weights of the uninterrupted run, although its data, model, hooks and
validation all draw from the global random streams; and the loop says when it cannot
be exact. The SIGKILL test on real configs: test_resume_after_kill.py."""
import itertools
from typing import Optional
from unittest import mock

import pytest
import torch
from mmengine.evaluator import BaseMetric, Evaluator
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch.utils.data import Dataset

import mmrazor_relkd  # noqa: F401  (registers the loop)
from mmrazor_relkd.engine.loops import exact_resume_loop

_RUN_NUMBERS = itertools.count()
SAMPLES, BATCH_SIZE, EPOCHS = 10, 2, 3  # 5 iterations per epoch


class NoisyData(Dataset):
    """Random augmentation from the global torch stream (``num_workers=0``)."""

    def __len__(self) -> int:
        return SAMPLES

    def __getitem__(self, index: int) -> dict:
        inputs = torch.tensor([index / SAMPLES, 1.0]) + torch.rand(2)
        return dict(inputs=inputs, targets=torch.tensor([index % 2], dtype=torch.float))


class DropoutRegression(BaseModel):
    """Dropout draws from the global stream in training."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, targets=None, mode='tensor'):
        outputs = self.linear(torch.nn.functional.dropout(inputs, 0.5, self.training))
        if mode == 'loss':
            return dict(loss=((outputs - targets)**2).mean())
        return list(outputs)


class MeanOutput(BaseMetric):

    def process(self, data_batch, data_samples) -> None:
        self.results.extend(float(output) for output in data_samples)

    def compute_metrics(self, results) -> dict:
        return dict(mean_output=sum(results) / len(results))


class DrawAndStop(Hook):
    """Draws random numbers after every step and epoch (as a monitoring hook may), and
    stops the run (as a kill would) right after the checkpoint of ``stop_after``."""
    priority = 'LOWEST'

    def __init__(self, stop_after: Optional[int]) -> None:
        self.stop_after = stop_after

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        torch.rand(3)
        if runner.iter + 1 == self.stop_after:
            raise KeyboardInterrupt

    def after_train_epoch(self, runner) -> None:
        torch.rand(3)


def _runner(work_dir, checkpoint: dict, stop_after: Optional[int] = None,
            resume: bool = False, loop: str = 'ExactResumeEpochBasedTrainLoop',
            **loader) -> Runner:
    loader_cfg = dict(dict(dataset=NoisyData(), batch_size=BATCH_SIZE, num_workers=0,
                           collate_fn=dict(type='default_collate')), **loader)
    torch.manual_seed(0)  # the model is built here, before the Runner seeds
    return Runner(
        model=DropoutRegression(),
        work_dir=str(work_dir),
        train_dataloader=dict(loader_cfg, sampler=dict(type='DefaultSampler', shuffle=True)),
        val_dataloader=dict(loader_cfg, sampler=dict(type='DefaultSampler', shuffle=False)),
        val_evaluator=Evaluator(MeanOutput()),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        train_cfg=dict(type=loop, max_epochs=EPOCHS, val_interval=1),
        default_hooks=dict(logger=None,
                           checkpoint=dict(type='CheckpointHook', max_keep_ckpts=-1,
                                           **checkpoint)),
        custom_hooks=[DrawAndStop(stop_after)],
        randomness=dict(seed=0),
        resume=resume,
        experiment_name=f'test_exact_resume_loop_{next(_RUN_NUMBERS)}')


def _stopped_then_resumed(work_dir, checkpoint: dict, stop_after: int, **loader):
    with pytest.raises(KeyboardInterrupt):
        _runner(work_dir, checkpoint, stop_after, **loader).train()
    return _runner(work_dir, checkpoint, resume=True, **loader)


@pytest.mark.parametrize('checkpoint, stop_after', [
    (dict(by_epoch=False, interval=3), 7),  # resumes at iteration 6: epoch 2, batch 1
    (dict(by_epoch=True, interval=1), 8),  # resumes at epoch 1's end (before its val)
], ids=['mid-epoch', 'epoch-boundary'])
def test_resumed_run_ends_with_the_weights_of_the_uninterrupted_run(
        tmp_path, checkpoint, stop_after):
    whole = _runner(tmp_path / 'whole', checkpoint).train().state_dict()
    resumed = _stopped_then_resumed(tmp_path / 'resumed', checkpoint, stop_after)
    weights = resumed.train().state_dict()
    assert resumed.train_loop.iter == EPOCHS * SAMPLES // BATCH_SIZE
    for key, value in whole.items():
        assert torch.equal(weights[key], value), key


def test_resume_of_mmengines_loop_differs_so_the_test_above_can_fail(tmp_path):
    checkpoint = dict(by_epoch=False, interval=3)
    whole = _runner(tmp_path / 'whole', checkpoint,
                    loop='EpochBasedTrainLoop').train().state_dict()
    with pytest.raises(KeyboardInterrupt):
        _runner(tmp_path / 'resumed', checkpoint, 7, loop='EpochBasedTrainLoop').train()
    resumed = _runner(tmp_path / 'resumed', checkpoint, resume=True,
                      loop='EpochBasedTrainLoop').train().state_dict()
    assert not torch.equal(resumed['linear.weight'], whole['linear.weight'])


def test_checkpoint_without_random_states_is_resumed_with_a_warning(tmp_path):
    checkpoint = dict(by_epoch=False, interval=3)
    with pytest.raises(KeyboardInterrupt):
        _runner(tmp_path, checkpoint, 7, loop='EpochBasedTrainLoop').train()
    runner = _runner(tmp_path, checkpoint, resume=True)
    with mock.patch.object(exact_resume_loop, 'print_log') as log:
        runner.train()
    messages = [call.args[0] for call in log.call_args_list]
    assert any('holds no random states' in message for message in messages), messages
    assert any('skipping the 1 batches already trained' in message
               for message in messages), messages


def test_persistent_workers_are_named_on_resume(tmp_path):
    checkpoint = dict(by_epoch=False, interval=3)
    loader = dict(num_workers=1, persistent_workers=True)
    runner = _stopped_then_resumed(tmp_path, checkpoint, 7, **loader)
    with mock.patch.object(exact_resume_loop, 'print_log') as log:
        runner.train()
    messages = [call.args[0] for call in log.call_args_list]
    assert any('set persistent_workers=False' in message for message in messages), messages


def test_random_states_are_not_restored_with_several_processes(tmp_path):
    """The checkpoint holds rank 0's states: restoring them on every rank would give all
    ranks one stream, so the loop keeps each rank's and says so."""
    checkpoint = dict(by_epoch=False, interval=3)
    runner = _stopped_then_resumed(tmp_path, checkpoint, 7)
    with mock.patch.object(exact_resume_loop, 'get_world_size', return_value=2), \
            mock.patch.object(exact_resume_loop, 'restore_global_rng_state') as restore, \
            mock.patch.object(exact_resume_loop, 'print_log') as log:
        runner.train()
    assert not restore.called
    messages = [call.args[0] for call in log.call_args_list]
    assert sum('Resuming with several processes' in message for message in messages) == 1


def test_resume_with_another_batch_size_is_refused_naming_the_fix(tmp_path):
    checkpoint = dict(by_epoch=False, interval=3)
    with pytest.raises(KeyboardInterrupt):
        _runner(tmp_path, checkpoint, 7).train()
    runner = _runner(tmp_path, checkpoint, resume=True, batch_size=5)  # 2 batches / epoch
    with pytest.raises(ValueError, match=r'written after iteration 6 in epoch 2, which does '
                       r'not fit 2 batches per epoch: resume with the dataset and batch'):
        runner.train()
