"""An epoch-based training loop whose ``--resume`` continues exactly where the
checkpoint was written, also in the middle of an epoch."""
import logging
import math
from typing import Any, Dict, Optional, Sequence

import torch
from mmengine.dist import get_world_size
from mmengine.logging import print_log
from mmengine.optim import OptimWrapperDict
from mmengine.registry import LOOPS
from mmengine.runner import EpochBasedTrainLoop

from ...models.distillers.rng_isolation import (global_rng_state, preserved_global_rng,
                                                restore_global_rng_state)

EPOCH_START_KEY = 'exact_resume/rng_state_epoch_start'
AFTER_ITER_KEY = 'exact_resume/rng_state_after_iter'
POSITION_KEY = 'exact_resume/position'


def _accumulative_counts(optim_wrapper) -> int:
    """The iterations of one gradient accumulation window of ``optim_wrapper`` (of all
    its optimizers together for an ``OptimWrapperDict``)."""
    wrappers = (optim_wrapper.values() if isinstance(optim_wrapper, OptimWrapperDict) else
                [optim_wrapper])
    return math.lcm(*(getattr(wrapper, '_accumulative_counts', 1) for wrapper in wrappers))


@LOOPS.register_module()
class ExactResumeEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` (same arguments) that resumes without retraining a batch
    and with the random-number streams of the uninterrupted run.

    mmengine's loop restarts a partially trained epoch from its first batch (a checkpoint
    written every ``n`` iterations is followed by the epoch's early batches again), no
    checkpoint holds the global random states, and a run without ``randomness.seed``
    shuffles its data with the seed of the new process, so a resumed run draws other
    samples, dropout masks and augmentations than the run it continues. This loop:

    * keeps Python's, NumPy's and torch's global random states of the start of the
      current epoch and of the end of the last training step, and the position of that
      step (its epoch and batch, and what decides which samples a batch holds: batches
      per epoch, batch size, processes, dataset size, the sampler's seed), in the
      message hub, which every checkpoint saves;
    * on resume, builds the training data again with the checkpoint's seed when it
      was built with another (``Runner.resume`` sets the checkpoint's seed after the
      loop is built); in the middle of an epoch, restores the epoch's start state,
      builds the epoch's batch iterator, draws and discards the batches already
      trained (as mmengine's ``IterBasedTrainLoop`` does), then restores the state of
      the last trained step; at an epoch boundary it continues with the next epoch from
      the state of the last trained step, also with another epoch length or number of
      processes (as mmengine does);
    * runs the ``after_train_iter`` / ``after_train_epoch`` hooks under
      :func:`preserved_global_rng` and starts every epoch from the state of the last
      training step, so that neither the hooks nor validation advance the training
      stream (what a checkpoint written by a hook holds is then what the next step
      starts from).

    It refuses a resume that cannot continue exactly (``ValueError`` before training,
    naming the cause and the fix): in the middle of an epoch whose batches would hold
    other samples than in the run that wrote the checkpoint, and inside a gradient
    accumulation window (the accumulated gradients are not in a checkpoint).

    Bit-exact in one process with ``num_workers=0`` or ``persistent_workers=False``: a
    persistent data worker carries its random state across epochs, and a restarted one
    does not have it (the loop warns). With several processes the data position is exact
    but the checkpoint holds rank 0's random states only, so they are not restored
    (every rank continues from the seed it was given). Modules with per-epoch state keep
    it in their state dict (``KDALoss`` saves its partial epoch).
    """

    _resume_at: Optional[int] = None  # batches of the current epoch already trained
    # whether the message hub's random states are this process's training stream
    _random_states_restorable = False
    # the epoch's layout and accumulation window, recorded with every step's position
    _setup: Dict[str, Any]

    def __init__(self, runner, dataloader, *args, **kwargs) -> None:
        super().__init__(runner, dataloader, *args, **kwargs)
        self._dataloader_cfg = dataloader if isinstance(dataloader, dict) else None
        self._dataloader_seed = runner.seed

    def run(self) -> torch.nn.Module:
        """Launch training (mmengine's), after preparing a resume."""
        if self._iter > 0:
            self._prepare_resume()
        self._setup = dict(
            self._epoch_layout(),
            accumulative_counts=_accumulative_counts(self.runner.optim_wrapper))
        return super().run()

    def run_epoch(self) -> None:
        """Iterate one epoch (mmengine's), from the random states of the last training
        step; after a resume, from the first batch not yet trained."""
        hub = self.runner.message_hub
        trained, self._resume_at = self._resume_at, None
        if trained:
            self._restore_random_states(EPOCH_START_KEY)
        else:
            self._restore_random_states(AFTER_ITER_KEY)
            hub.update_info(EPOCH_START_KEY, global_rng_state())
        self.runner.call_hook('before_train_epoch')
        self.runner.model.train()
        batches = iter(self.dataloader)
        if trained:
            print_log(f'Resuming epoch {self._epoch + 1} after its batch {trained}: '
                      f'drawing and skipping the {trained} batches already trained',
                      logger='current')
            for _ in range(trained):
                next(batches)
            self._restore_random_states(AFTER_ITER_KEY)
        for idx, data_batch in enumerate(batches, start=trained or 0):
            self.run_iter(idx, data_batch)
        with preserved_global_rng():
            self.runner.call_hook('after_train_epoch')
        self._epoch += 1

    def run_iter(self, idx: int, data_batch: Sequence[dict]) -> None:
        """One training step (mmengine's), then its random states and position into the
        message hub before the hooks (and a checkpoint) see it."""
        self.runner.call_hook('before_train_iter', batch_idx=idx, data_batch=data_batch)
        outputs = self.runner.model.train_step(data_batch,
                                               optim_wrapper=self.runner.optim_wrapper)
        self._record_step(idx)
        with preserved_global_rng():
            self.runner.call_hook('after_train_iter', batch_idx=idx, data_batch=data_batch,
                                  outputs=outputs)
        self._iter += 1

    def _record_step(self, idx: int) -> None:
        """The random states after the training step on batch ``idx`` and its position,
        into the message hub."""
        hub = self.runner.message_hub
        hub.update_info(AFTER_ITER_KEY, global_rng_state())
        hub.update_info(POSITION_KEY, dict(self._setup, epoch=self._epoch,
                                           batches_trained=idx + 1))
        self._random_states_restorable = True

    def _epoch_layout(self) -> Dict[str, Any]:
        """What decides which samples each batch of an epoch holds."""
        loader = self.dataloader
        sampler = getattr(loader.batch_sampler, 'sampler', loader.sampler)
        shuffles = getattr(sampler, 'shuffle', True)
        batch_size = getattr(loader.batch_sampler, 'batch_size', loader.batch_size)
        return dict(batches_per_epoch=len(loader), batch_size=batch_size,
                    world_size=get_world_size(), dataset_size=len(loader.dataset),
                    sampler_seed=getattr(sampler, 'seed', None) if shuffles else None)

    def _prepare_resume(self) -> None:
        """Before a resumed run trains: its data drawn as by the run that wrote the
        checkpoint, the batches of the current epoch already trained, and whether the
        checkpoint's random states are this run's; refuses what cannot be exact."""
        self._rebuild_dataloader_with_resumed_seed()
        position = self.runner.message_hub.get_info(POSITION_KEY)
        self._check_accumulation_window(
            _accumulative_counts(self.runner.optim_wrapper) if position is None else
            position['accumulative_counts'])
        self._resume_at = (self._trained_by_mmengines_loop() if position is None else
                           self._trained_batches(position))
        self._random_states_restorable = self._check_random_states()

    def _rebuild_dataloader_with_resumed_seed(self) -> None:
        """mmengine builds the training data (the sampler's shuffle, the workers' seeds)
        from the runner's seed before ``Runner.resume`` sets the checkpoint's (which
        differs when ``randomness.seed`` is unset): build it again, as ``BaseLoop``
        does, with the seed of the run that wrote the checkpoint."""
        if self._dataloader_cfg is None or self.runner.seed == self._dataloader_seed:
            return
        print_log(f'Building the training data again with the seed of the resumed '
                  f'checkpoint ({self.runner.seed}; it was built with '
                  f'{self._dataloader_seed})', logger='current')
        self.dataloader = self.runner.build_dataloader(
            self._dataloader_cfg, seed=self.runner.seed,
            diff_rank_seed=self.runner._randomness_cfg.get('diff_rank_seed', False))
        self._dataloader_seed = self.runner.seed

    def _check_accumulation_window(self, counts: int) -> None:
        """Refuse a checkpoint written inside a gradient accumulation window of
        ``counts`` iterations: the gradients accumulated in it are not saved."""
        if self._iter % counts:
            window_start = self._iter - self._iter % counts
            raise ValueError(
                f'The resumed checkpoint was written after iteration {self._iter}, inside '
                f'a gradient accumulation window of {counts} iterations (the optim '
                f"wrapper's accumulative_counts): the gradients accumulated since "
                f'iteration {window_start} are not in the checkpoint, so the resumed run '
                'cannot continue as the uninterrupted run would. Resume from a checkpoint '
                f'written after a multiple of {counts} iterations (write checkpoints at '
                f'such iterations: CheckpointHook(by_epoch=False, interval=<a multiple of '
                f'{counts}>)), or start a new run from this one with load_from')

    def _trained_batches(self, position: Dict[str, Any]) -> int:
        """The batches of the current epoch trained before the checkpoint written at
        ``position``; refuses a resume in the middle of an epoch whose batches would
        hold other samples than in the run that wrote it."""
        if position['epoch'] < self._epoch:  # written after the epoch's hooks
            return 0
        if position['batches_trained'] == position['batches_per_epoch']:
            return len(self.dataloader)  # written after the epoch's last step
        layout = self._epoch_layout()
        changed = {key: f'{key} {position[key]} -> {value}'
                   for key, value in layout.items() if position[key] != value}
        if changed:
            fixes = []
            if changed.keys() - {'sampler_seed'}:
                fixes.append('the dataset, batch size and number of processes of the run '
                             'that wrote it')
            if 'sampler_seed' in changed:
                fixes.append("that run's shuffle (set randomness.seed, or the training "
                             "sampler's seed to that run's)")
            raise ValueError(
                f'The resumed checkpoint was written in the middle of epoch '
                f'{self._epoch + 1} (after its batch {position["batches_trained"]} of '
                f'{position["batches_per_epoch"]}), and this run splits the epoch into '
                f'other batches ({", ".join(changed.values())}), so skipping the batches '
                f'already trained would skip or repeat other samples. Resume with '
                f'{" and ".join(fixes)}, or start a new run from it with load_from')
        return position['batches_trained']

    def _trained_by_mmengines_loop(self) -> int:
        """The batches of the current epoch trained before a checkpoint that records no
        position (written by mmengine's loop), from this run's batches per epoch."""
        trained = self._iter - self._epoch * len(self.dataloader)
        if not 0 <= trained <= len(self.dataloader):
            raise ValueError(
                f'The resumed checkpoint was written after iteration {self._iter} in '
                f'epoch {self._epoch + 1}, which does not fit {len(self.dataloader)} '
                'batches per epoch: resume with the dataset and batch size of the run '
                'that wrote it (or start a new run with load_from)')
        return trained

    def _restore_random_states(self, key: str) -> None:
        """Restore the states saved under ``key`` where they are this run's."""
        if self._random_states_restorable:
            restore_global_rng_state(self.runner.message_hub.get_info(key))

    def _check_random_states(self) -> bool:
        """Whether the resumed checkpoint's random states can be restored; says why not,
        and warns when persistent data workers make the resume inexact anyway."""
        if self.runner.message_hub.get_info(AFTER_ITER_KEY) is None:
            print_log('The resumed checkpoint holds no random states: it was not written '
                      f'by {type(self).__name__}, so the resumed run draws other random '
                      'numbers than the uninterrupted run would', logger='current',
                      level=logging.WARNING)
            return False
        if get_world_size() > 1:
            print_log('Resuming with several processes: the random states are not '
                      "restored (the checkpoint holds rank 0's only); every rank "
                      'continues from its seed', logger='current', level=logging.WARNING)
            return False
        if getattr(self.dataloader, 'persistent_workers', False):
            print_log('Resuming with persistent data workers: they restart with fresh '
                      'random states, so random augmentation differs from the '
                      'uninterrupted run; set persistent_workers=False (or num_workers=0) '
                      'for an exact resume', logger='current', level=logging.WARNING)
        return True
