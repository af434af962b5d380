"""ALRS, the adaptive learning-rate schedule of the RCKA CIFAR-100 / ImageNet recipes.

Zhou et al. (IJCAI 2024, App. B) schedule every classification run with ALRS (Chen et
al., 2022). The rule below is the one of the authors' released training code
(``Klayand/Distill_Knowledge``, ``scheduler/ALRS.py``, called once per epoch with the
epoch's mean training loss by ``Solver.py``), restated in mmengine's step counting:

* step ``k`` (the value used in epoch ``k``, counting from 0) for ``k < warmup_epochs``:
  ``max_value * k / warmup_epochs``, except epoch 0, which runs at the optimizer's own
  value. The last warm-up value is ``max_value * (warmup_epochs - 1) / warmup_epochs``:
  the released rule never sets ``max_value`` itself.
* from step ``warmup_epochs`` on: the value is kept, and multiplied by ``decay`` when
  the mean training loss of the epoch that just ended fell by less than
  ``abs_threshold`` *and* by less than ``rel_threshold`` of the previous epoch's mean
  loss (a plateau, or a rise). The first epoch after the warm-up has no previous loss
  to compare with and never decays.

Defaults: the released code's (30 warm-up epochs, peak 0.1, thresholds 0.01 / 0.01,
decay 0.97).
"""
from typing import List, Optional

import torch
from mmengine.dist import all_reduce
from mmengine.logging import MessageHub
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import (INF, OptimizerType,
                                                      _ParamScheduler)
from mmengine.registry import PARAM_SCHEDULERS


@PARAM_SCHEDULERS.register_module()
class ALRSParamScheduler(_ParamScheduler):
    """Linear warm-up, then decay by ``decay`` whenever the training loss plateaus.

    Stepped once per training epoch (``by_epoch=True`` only) by mmengine's
    ``ParamSchedulerHook``. The loss it watches is the mean, over the iterations of
    the epoch that just ended, of the ``train/<loss_key>`` scalar that mmengine's
    ``RuntimeInfoHook`` logs for every iteration (``loss``: the total loss), averaged
    over the ranks of a distributed run.

    Args:
        optimizer: Wrapped optimizer.
        param_name: Name of the scheduled parameter, e.g. ``'lr'``.
        warmup_epochs: Epochs of linear warm-up.
        max_value: Value the warm-up heads for. ``None``: each parameter group's own
            initial value. A number is one value for every group (the released code
            sets all groups alike), so it is refused when the groups start from
            different values.
        decay: Factor applied at a plateau.
        abs_threshold: A loss decrease below this is a plateau candidate.
        rel_threshold: A relative loss decrease (to the previous epoch's loss) below
            this is a plateau candidate; both must hold.
        loss_key: The logged training scalar watched (``train/<loss_key>``).
        begin: First epoch the scheduler acts in.
        end: Epoch it stops acting at.
        last_step: mmengine's resume-without-state-dict index.
        by_epoch: Must be True: the rule is defined per epoch.
        verbose: Log every value set.
    """

    def __init__(self,
                 optimizer: OptimizerType,
                 param_name: str,
                 warmup_epochs: int = 30,
                 max_value: Optional[float] = None,
                 decay: float = 0.97,
                 abs_threshold: float = 0.01,
                 rel_threshold: float = 0.01,
                 loss_key: str = 'loss',
                 begin: int = 0,
                 end: int = INF,
                 last_step: int = -1,
                 by_epoch: bool = True,
                 verbose: bool = False) -> None:
        if not by_epoch:
            raise ValueError(
                'ALRS is defined per epoch: it watches the mean training loss of each '
                'epoch. Use by_epoch=True (and no convert_to_iter_based).')
        if warmup_epochs < 1:
            raise ValueError(f'ALRS warmup_epochs must be >= 1, got {warmup_epochs}.')
        if not 0 < decay <= 1:
            raise ValueError(f'ALRS decay must be in (0, 1], got {decay}.')
        initial = [group.get(f'initial_{param_name}', group[param_name])
                   for group in optimizer.param_groups]
        if max_value is not None and len(set(initial)) > 1:
            raise ValueError(
                f'ALRS max_value={max_value} would set every parameter group to the '
                f'same {param_name}, but the groups start from different values '
                f'{initial}. Leave max_value=None to warm each group up to its own '
                f'initial {param_name}.')
        self.warmup_epochs = warmup_epochs
        self.max_value = max_value
        self.decay = decay
        self.abs_threshold = abs_threshold
        self.rel_threshold = rel_threshold
        self.loss_key = loss_key
        self.last_loss: Optional[float] = None
        self.iters_done = 0  # training iterations seen at the previous step
        super().__init__(optimizer, param_name, begin=begin, end=end,
                         last_step=last_step, by_epoch=by_epoch, verbose=verbose)

    @staticmethod
    def _iters_done() -> int:
        """Training iterations run so far, from mmengine's runtime information."""
        last_iter = MessageHub.get_current_instance().get_info('iter')
        if last_iter is None:
            raise RuntimeError(
                'ALRS reads the iteration count ("iter") and the training loss from '
                'mmengine\'s MessageHub, where the Runner\'s RuntimeInfoHook puts '
                'them; none is there: step it inside a Runner (ParamSchedulerHook).')
        return last_iter + 1

    def _epoch_loss(self) -> float:
        """Mean ``train/<loss_key>`` over the iterations since the previous step, averaged
        over the ranks (every rank runs as many iterations): the same on every rank."""
        hub = MessageHub.get_current_instance()
        key = f'train/{self.loss_key}'
        if key not in hub.log_scalars:
            raise RuntimeError(
                f'ALRS watches the training loss "{key}", which was never logged. '
                f'mmengine\'s RuntimeInfoHook logs every key of the model\'s '
                f'train_step outputs as "train/<key>"; set loss_key to one of them '
                f'(e.g. "loss", the total loss).')
        iters_done = self._iters_done()
        window = iters_done - self.iters_done
        if window < 1:
            raise RuntimeError(
                f'ALRS was stepped twice at iteration {iters_done} with no training '
                f'iteration in between: step it once per epoch.')
        self.iters_done = iters_done
        loss = torch.tensor(hub.get_scalar(key).mean(window), dtype=torch.float64)
        all_reduce(loss, op='mean')
        return loss.item()

    def _warmup_values(self) -> List[float]:
        fraction = self.last_step / self.warmup_epochs
        if self.max_value is not None:
            return [self.max_value * fraction] * len(self.base_values)
        return [base * fraction for base in self.base_values]

    def _get_value(self) -> List[float]:
        current = [group[self.param_name] for group in self.optimizer.param_groups]
        if self.last_step == 0:
            return current
        if self.last_step < self.warmup_epochs:
            self.iters_done = self._iters_done()
            return self._warmup_values()
        loss = self._epoch_loss()
        previous, self.last_loss = self.last_loss, loss
        if previous is None:
            return current
        drop = previous - loss  # rel. test multiplied out: no division by a 0 loss
        if drop < self.abs_threshold and drop < self.rel_threshold * previous:
            return [value * self.decay for value in current]
        return current


@PARAM_SCHEDULERS.register_module()
class ALRSLR(LRSchedulerMixin, ALRSParamScheduler):
    """:class:`ALRSParamScheduler` on the learning rate (``param_name='lr'``)."""
