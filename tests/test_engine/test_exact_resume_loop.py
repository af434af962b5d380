"""ExactResumeEpochBasedTrainLoop in one process: a run stopped after a checkpoint (in
the middle of an epoch, or at an epoch boundary followed by validation) and resumed
ends with the weights of the uninterrupted run, although its data, model, hooks and
validation all draw from the global random streams, also without a seed and with
random states loaded onto another device; at an epoch boundary it continues with
another epoch length as mmengine does; and it refuses (or warns) where it cannot be
exact. The SIGKILL test on real configs: test_resume_after_kill.py; the loop against
mmengine's: test_exact_resume_loop_follows_mmengine.py."""
import itertools
from typing import Optional, Sequence
from unittest import mock

import numpy as np
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
            seed: Optional[int] = 0, sampler_seed: Optional[int] = None,
            accumulative_counts: int = 1, hooks: Sequence[Hook] = (), **loader) -> Runner:
    loader_cfg = dict(dict(dataset=NoisyData(), batch_size=BATCH_SIZE, num_workers=0,
                           collate_fn=dict(type='default_collate')), **loader)
    train_sampler = dict(type='DefaultSampler', shuffle=True)
    if sampler_seed is not None:
        train_sampler['seed'] = sampler_seed
    torch.manual_seed(0)  # the model is built here, before the Runner seeds
    return Runner(
        model=DropoutRegression(),
        work_dir=str(work_dir),
        train_dataloader=dict(loader_cfg, sampler=train_sampler),
        val_dataloader=dict(loader_cfg, sampler=dict(type='DefaultSampler', shuffle=False)),
        val_evaluator=Evaluator(MeanOutput()),
        val_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9),
                           accumulative_counts=accumulative_counts),
        train_cfg=dict(type=loop, max_epochs=EPOCHS, val_interval=1),
        default_hooks=dict(logger=None,
                           checkpoint=dict(type='CheckpointHook', max_keep_ckpts=-1,
                                           **checkpoint)),
        custom_hooks=[DrawAndStop(stop_after), *hooks],
        randomness=dict(seed=seed),
        resume=resume,
        experiment_name=f'test_exact_resume_loop_{next(_RUN_NUMBERS)}')


def _stopped_then_resumed(work_dir, checkpoint: dict, stop_after: int, **settings):
    with pytest.raises(KeyboardInterrupt):
        _runner(work_dir, checkpoint, stop_after, **settings).train()
    return _runner(work_dir, checkpoint, resume=True, **settings)


def _assert_same_weights(weights: dict, expected: dict) -> None:
    assert weights.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(weights[key], value), key


def _messages(log: mock.MagicMock) -> list:
    return [call.args[0] for call in log.call_args_list]


MID_EPOCH = dict(by_epoch=False, interval=3)  # stopped after 7: resumes at iteration 6,
MID_EPOCH_STOP = 7  # epoch 2, batch 1
EPOCH_END = dict(by_epoch=True, interval=1)  # stopped after 8: resumes at epoch 1's end
EPOCH_END_STOP = 8  # (before its validation)


@pytest.mark.parametrize('checkpoint, stop_after, accumulative_counts', [
    (MID_EPOCH, MID_EPOCH_STOP, 1),
    (EPOCH_END, EPOCH_END_STOP, 1),
    (MID_EPOCH, MID_EPOCH_STOP, 2),  # iteration 6 ends an accumulation window
], ids=['mid-epoch', 'epoch-boundary', 'mid-epoch-accumulating-2'])
def test_resumed_run_ends_with_the_weights_of_the_uninterrupted_run(
        tmp_path, checkpoint, stop_after, accumulative_counts):
    whole = _runner(tmp_path / 'whole', checkpoint,
                    accumulative_counts=accumulative_counts).train().state_dict()
    resumed = _stopped_then_resumed(tmp_path / 'resumed', checkpoint, stop_after,
                                    accumulative_counts=accumulative_counts)
    weights = resumed.train().state_dict()
    assert resumed.train_loop.iter == EPOCHS * SAMPLES // BATCH_SIZE
    _assert_same_weights(weights, whole)


def test_resume_of_mmengines_loop_differs_so_the_test_above_can_fail(tmp_path):
    whole = _runner(tmp_path / 'whole', MID_EPOCH,
                    loop='EpochBasedTrainLoop').train().state_dict()
    resumed = _stopped_then_resumed(tmp_path / 'resumed', MID_EPOCH, MID_EPOCH_STOP,
                                    loop='EpochBasedTrainLoop').train().state_dict()
    assert not torch.equal(resumed['linear.weight'], whole['linear.weight'])


def _tensors_as_int64(node):
    """``node`` with every tensor in it converted to int64."""
    if isinstance(node, torch.Tensor):
        return node.long()
    if isinstance(node, dict):
        return {key: _tensors_as_int64(value) for key, value in node.items()}
    return node


def test_random_states_loaded_onto_another_device_are_restored(tmp_path):
    """``Runner.resume`` loads the checkpoint onto the current device: on a GPU the
    random states arrive as CUDA tensors, which torch's setters reject as they reject
    any tensor but a CPU uint8 one ('RNG state must be a torch.ByteTensor'). Here they
    arrive as int64 CPU tensors, which fail the same check."""
    whole = _runner(tmp_path / 'whole', MID_EPOCH).train().state_dict()
    resumed = _stopped_then_resumed(tmp_path / 'resumed', MID_EPOCH, MID_EPOCH_STOP)
    load_checkpoint = Runner.load_checkpoint
    loaded = []

    def loaded_onto_another_device(runner, *args, **kwargs) -> dict:
        checkpoint = load_checkpoint(runner, *args, **kwargs)
        hub = checkpoint['message_hub']
        hub['runtime_info'] = _tensors_as_int64(hub['runtime_info'])
        loaded.append(hub['runtime_info'][exact_resume_loop.EPOCH_START_KEY]['torch'])
        return checkpoint

    with mock.patch.object(Runner, 'load_checkpoint', loaded_onto_another_device):
        weights = resumed.train().state_dict()
    assert [state.dtype for state in loaded] == [torch.int64]
    _assert_same_weights(weights, whole)


@pytest.mark.parametrize('num_workers', [0, 1])
def test_resume_without_a_seed_draws_the_data_of_the_run_it_continues(
        tmp_path, num_workers):
    """``randomness.seed=None``: every process draws its own seed, and mmengine builds
    the training data (the sampler's shuffle, the data workers' seeds) from it before
    ``Runner.resume`` sets the checkpoint's; the loop builds it again with that one."""
    settings = dict(seed=None, num_workers=num_workers, persistent_workers=False)
    np.random.seed(1)  # the seed the first process draws
    whole = _runner(tmp_path / 'whole', MID_EPOCH, **settings)
    first_seed = whole.seed
    whole = whole.train().state_dict()
    np.random.seed(1)
    with pytest.raises(KeyboardInterrupt):
        _runner(tmp_path / 'resumed', MID_EPOCH, MID_EPOCH_STOP, **settings).train()
    np.random.seed(2)  # the resumed process draws another
    resumed = _runner(tmp_path / 'resumed', MID_EPOCH, resume=True, **settings)
    assert resumed.seed != first_seed
    weights = resumed.train().state_dict()
    assert resumed.seed == first_seed
    _assert_same_weights(weights, whole)


BATCHES_FIX = ('the dataset, batch size and number of processes of the run that wrote '
               'it')
SHUFFLE_FIX = ("that run's shuffle (set randomness.seed, or the training sampler's seed "
               "to that run's)")


@pytest.mark.parametrize('changed, world_size, message, fix', [
    (dict(batch_size=4), 1, 'batches_per_epoch 5 -> 3, batch_size 2 -> 4', BATCHES_FIX),
    (dict(), 2, 'world_size 1 -> 2', BATCHES_FIX),
    (dict(sampler_seed=6), 1, 'sampler_seed 5 -> 6', SHUFFLE_FIX),
], ids=['batch-size', 'processes', 'sampler-seed'])
def test_mid_epoch_resume_into_other_batches_is_refused_naming_the_cause_and_fix(
        tmp_path, changed, world_size, message, fix):
    """Skipping the batches already trained only skips the samples trained when an
    epoch is split into batches as in the run that wrote the checkpoint."""
    with pytest.raises(KeyboardInterrupt):
        _runner(tmp_path, MID_EPOCH, MID_EPOCH_STOP, sampler_seed=5).train()
    runner = _runner(tmp_path, MID_EPOCH, resume=True, **dict(dict(sampler_seed=5),
                                                             **changed))
    with mock.patch.object(exact_resume_loop, 'get_world_size', return_value=world_size), \
            pytest.raises(ValueError) as error:
        runner.train()
    assert str(error.value) == (
        'The resumed checkpoint was written in the middle of epoch 2 (after its batch 1 '
        f'of 5), and this run splits the epoch into other batches ({message}), so '
        'skipping the batches already trained would skip or repeat other samples. '
        f'Resume with {fix}, or start a new run from it with load_from')


class BatchRecorder(Hook):
    """The (epoch, batch index) of every training step."""

    def __init__(self) -> None:
        self.batches = []

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        self.batches.append((runner.epoch, batch_idx))


@pytest.mark.parametrize('batch_size', [4, 1], ids=['fewer-batches', 'more-batches'])
def test_epoch_boundary_resume_with_another_epoch_length_continues_as_mmengine(
        tmp_path, batch_size):
    """As with another number of processes: the next epoch starts from its first
    batch (mmengine's loop resumed from the same checkpoint is the reference)."""
    steps = {}
    for loop in ('ExactResumeEpochBasedTrainLoop', 'EpochBasedTrainLoop'):
        with pytest.raises(KeyboardInterrupt):
            _runner(tmp_path / loop, EPOCH_END, EPOCH_END_STOP).train()
        steps[loop] = BatchRecorder()
        _runner(tmp_path / loop, EPOCH_END, resume=True, loop=loop, batch_size=batch_size,
                hooks=[steps[loop]]).train()
    batches = -(-SAMPLES // batch_size)
    assert steps['ExactResumeEpochBasedTrainLoop'].batches == [
        (epoch, idx) for epoch in range(1, EPOCHS) for idx in range(batches)]
    assert steps['EpochBasedTrainLoop'].batches == steps[
        'ExactResumeEpochBasedTrainLoop'].batches


@pytest.mark.parametrize('checkpoint, stop_after, iteration, window_start', [
    (dict(by_epoch=False, interval=3), 4, 3, 2),
    (EPOCH_END, EPOCH_END_STOP, 5, 4),
], ids=['mid-epoch', 'epoch-boundary'])
def test_resume_inside_a_gradient_accumulation_window_is_refused_naming_the_fix(
        tmp_path, checkpoint, stop_after, iteration, window_start):
    """The gradients accumulated in the window are not in the checkpoint."""
    runner = _stopped_then_resumed(tmp_path, checkpoint, stop_after, accumulative_counts=2)
    with pytest.raises(ValueError, match=(
            rf'^The resumed checkpoint was written after iteration {iteration}, inside a '
            r'gradient accumulation window of 2 iterations \(the optim wrapper\'s '
            r'accumulative_counts\): the gradients accumulated since iteration '
            rf'{window_start} are not in the checkpoint, .* Resume from a checkpoint '
            r'written after a multiple of 2 iterations \(write checkpoints at such '
            r'iterations: CheckpointHook\(by_epoch=False, interval=<a multiple of 2>\)\), '
            r'or start a new run from this one with load_from$')):
        runner.train()


def test_checkpoint_without_random_states_is_resumed_with_a_warning(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        _runner(tmp_path, MID_EPOCH, MID_EPOCH_STOP, loop='EpochBasedTrainLoop').train()
    runner = _runner(tmp_path, MID_EPOCH, resume=True)
    with mock.patch.object(exact_resume_loop, 'print_log') as log:
        runner.train()
    messages = _messages(log)
    assert any('holds no random states' in message for message in messages), messages
    assert any('skipping the 1 batches already trained' in message
               for message in messages), messages


def test_checkpoint_of_mmengines_loop_that_does_not_fit_the_epoch_is_refused(tmp_path):
    """A checkpoint without a recorded position: the batches trained in its epoch are
    computed from this run's epoch length, which must fit."""
    with pytest.raises(KeyboardInterrupt):
        _runner(tmp_path, MID_EPOCH, MID_EPOCH_STOP, loop='EpochBasedTrainLoop').train()
    runner = _runner(tmp_path, MID_EPOCH, resume=True, batch_size=5)  # 2 batches / epoch
    with pytest.raises(ValueError, match=r'written after iteration 6 in epoch 2, which '
                       r'does not fit 2 batches per epoch: resume with the dataset and'):
        runner.train()


def test_persistent_workers_are_named_on_resume(tmp_path):
    runner = _stopped_then_resumed(tmp_path, MID_EPOCH, MID_EPOCH_STOP, num_workers=1,
                                   persistent_workers=True)
    with mock.patch.object(exact_resume_loop, 'print_log') as log:
        runner.train()
    messages = _messages(log)
    assert any('set persistent_workers=False' in message for message in messages), messages


class FirstEpochRandomState(Hook):
    """torch's random state at the start of the first epoch the run trains."""

    def __init__(self) -> None:
        self.state: Optional[torch.Tensor] = None

    def before_train_epoch(self, runner) -> None:
        if self.state is None:
            self.state = torch.get_rng_state()


@pytest.mark.parametrize('world_size', [1, 2])
def test_checkpoints_random_states_are_restored_in_one_process_only(tmp_path, world_size):
    """The checkpoint holds rank 0's states: restoring them on every rank would give all
    ranks one stream, so with several processes every rank continues from its seed."""
    with pytest.raises(KeyboardInterrupt):
        _runner(tmp_path, EPOCH_END, EPOCH_END_STOP).train()
    saved = torch.load(tmp_path / 'epoch_1.pth', weights_only=False)  # the test's file
    saved = saved['message_hub']['runtime_info'][exact_resume_loop.AFTER_ITER_KEY]
    first_epoch = FirstEpochRandomState()
    runner = _runner(tmp_path, EPOCH_END, resume=True, hooks=[first_epoch])
    with mock.patch.object(exact_resume_loop, 'get_world_size', return_value=world_size), \
            mock.patch.object(exact_resume_loop, 'print_log') as log:
        runner.train()
    assert torch.equal(first_epoch.state, saved['torch']) == (world_size == 1)
    assert sum('Resuming with several processes' in message
               for message in _messages(log)) == (world_size > 1)
