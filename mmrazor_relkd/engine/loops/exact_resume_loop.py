"""An epoch-based training loop whose ``--resume`` continues exactly where the
checkpoint was written, also in the middle of an epoch."""
import logging
from typing import Optional

import torch
from mmengine.dist import get_world_size
from mmengine.logging import print_log
from mmengine.registry import LOOPS
from mmengine.runner import EpochBasedTrainLoop

from ...models.distillers.rng_isolation import (global_rng_state, preserved_global_rng,
                                                restore_global_rng_state)

EPOCH_START_KEY = 'exact_resume/rng_state_epoch_start'
AFTER_ITER_KEY = 'exact_resume/rng_state_after_iter'


@LOOPS.register_module()
class ExactResumeEpochBasedTrainLoop(EpochBasedTrainLoop):
    """``EpochBasedTrainLoop`` (same arguments) that resumes without retraining a batch
    and with the random-number streams of the uninterrupted run.

    mmengine's loop restarts a partially trained epoch from its first batch (a checkpoint
    written every ``n`` iterations is followed by the epoch's early batches again), and
    no checkpoint holds the global random states, so a resumed run draws other dropout
    masks, augmentations and samples than the run it continues. This loop:

    * keeps Python's, NumPy's and torch's global random states of the start of the
      current epoch and of the end of the last training step in the message hub, which
      every checkpoint saves;
    * on resume in the middle of an epoch, restores the epoch's start state, builds the
      epoch's batch iterator, draws and discards the batches already trained (as
      mmengine's ``IterBasedTrainLoop`` does), then restores the state of the last
      trained step; at an epoch boundary it restores the latter directly;
    * runs the ``after_train_iter`` / ``after_train_epoch`` hooks and validation under
      :func:`preserved_global_rng`, so that they do not advance the training stream
      (what a checkpoint written by a hook holds is then what the next step starts from).

    Bit-exact in one process with ``num_workers=0`` or ``persistent_workers=False``: a
    persistent data worker carries its random state across epochs, and a restarted one
    does not have it (the loop warns). With several processes the data position is exact
    but the checkpoint holds rank 0's random states only, so they are not restored
    (every rank continues from the seed it was given). Modules with per-epoch state keep
    it in their state dict (``KDALoss`` saves its partial epoch).
    """

    _resume_at: Optional[int] = None  # batches of the current epoch already trained
    _random_states_restorable = False

    def run(self) -> torch.nn.Module:
        """Launch training (mmengine's loop, with validation that leaves the random
        streams as they were)."""
        self.runner.call_hook('before_train')
        if self._iter > 0:
            self._resume_at = self._iter - self._epoch * len(self.dataloader)
            if not 0 <= self._resume_at <= len(self.dataloader):
                raise ValueError(
                    f'The resumed checkpoint was written after iteration {self._iter} in '
                    f'epoch {self._epoch + 1}, which does not fit {len(self.dataloader)} '
                    'batches per epoch: resume with the dataset and batch size of the '
                    'run that wrote it (or start a new run with load_from)')
            self._random_states_restorable = self._check_random_states()
        while self._epoch < self._max_epochs and not self.stop_training:
            self.run_epoch()
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._epoch >= self.val_begin
                    and (self._epoch % self.val_interval == 0
                         or self._epoch == self._max_epochs)):
                with preserved_global_rng():
                    self.runner.val_loop.run()
        self.runner.call_hook('after_train')
        return self.runner.model

    def run_epoch(self) -> None:
        """Iterate one epoch; after a resume, from the first batch not yet trained."""
        hub = self.runner.message_hub
        trained, self._resume_at = self._resume_at, None
        if trained is not None:
            self._restore_random_states(EPOCH_START_KEY if trained else AFTER_ITER_KEY)
        if not trained:
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

    def run_iter(self, idx: int, data_batch) -> None:
        """One training step (mmengine's), then the random states into the message hub
        before the hooks (and a checkpoint) see it."""
        self.runner.call_hook('before_train_iter', batch_idx=idx, data_batch=data_batch)
        outputs = self.runner.model.train_step(data_batch,
                                               optim_wrapper=self.runner.optim_wrapper)
        self.runner.message_hub.update_info(AFTER_ITER_KEY, global_rng_state())
        with preserved_global_rng():
            self.runner.call_hook('after_train_iter', batch_idx=idx, data_batch=data_batch,
                                  outputs=outputs)
        self._iter += 1

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
