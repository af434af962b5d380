"""ALRSParamScheduler / ALRSLR: the released RCKA rule (30-epoch linear warm-up, then
x decay when the epoch's mean training loss plateaus) against hand-computed sequences,
its state_dict / resume, its guards, and a Runner that steps it from logged losses."""
import itertools
from typing import List, Sequence

import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.registry import PARAM_SCHEDULERS

import mmrazor_relkd  # noqa: F401  (registers the schedulers)
from mmrazor_relkd.engine.schedulers import ALRSLR, ALRSParamScheduler


def _optimizer(lr: float = 0.1, groups: Sequence[float] = ()) -> torch.optim.SGD:
    params = [{'params': [torch.nn.Parameter(torch.zeros(1))]}]
    params += [{'params': [torch.nn.Parameter(torch.zeros(1))], 'lr': g} for g in groups]
    return torch.optim.SGD(params, lr=lr, momentum=0.9)


_HUB_NUMBERS = itertools.count()


def _new_hub() -> MessageHub:
    """A new MessageHub, which becomes the current instance (as a Runner's does)."""
    return MessageHub.get_instance(f'test_alrs_{next(_HUB_NUMBERS)}')


@pytest.fixture
def hub() -> MessageHub:
    return _new_hub()


def _run_epoch(hub: MessageHub, losses: Sequence[float], scheduler, start_iter: int) -> int:
    """Log one epoch's per-iteration losses as RuntimeInfoHook does, then step."""
    for i, loss in enumerate(losses):
        hub.update_info('iter', start_iter + i)
        hub.update_scalar('train/loss', loss)
    scheduler.optimizer.step()
    scheduler.step()
    return start_iter + len(losses)


def _lrs(hub, scheduler, epoch_losses: List[Sequence[float]], start_iter: int = 0):
    """The lr used in each epoch: the current one, then one per epoch run."""
    lrs = [scheduler.optimizer.param_groups[0]['lr']]
    it = start_iter
    for losses in epoch_losses:
        it = _run_epoch(hub, losses, scheduler, it)
        lrs.append(scheduler.optimizer.param_groups[0]['lr'])
    return lrs


def test_registered_in_mmengines_param_schedulers():
    assert PARAM_SCHEDULERS.get('ALRSLR') is ALRSLR
    assert PARAM_SCHEDULERS.get('ALRSParamScheduler') is ALRSParamScheduler


def test_warmup_then_decay_on_plateau_by_hand(hub):
    """Warm-up over 3 epochs from base lr 0.1, decay 0.5, two iterations an epoch.

    The lr of epoch k (0-based): 0.1 (the optimizer's own) for k = 0, 0.1 * k / 3 for
    k = 1, 2; then it changes only at a plateau of the epoch mean loss (comments).
    """
    opt = _optimizer(0.1)
    scheduler = ALRSLR(opt, warmup_epochs=3, decay=0.5, abs_threshold=0.01,
                       rel_threshold=0.01)
    epochs = [
        [9.0, 9.0],   # epoch 0 -> step 1: warm-up 1/3
        [8.0, 8.0],   # epoch 1 -> step 2: warm-up 2/3
        [3.0, 1.0],   # epoch 2 -> step 3: mean 2.0 recorded, no previous: keep
        [1.0, 1.0],   # epoch 3 -> step 4: 2.0 -> 1.0, drop 1.0: keep
        [1.0, 0.999],  # epoch 4 -> step 5: drop 0.0005 < 0.01 and < 1%: x0.5
        [2.0, 2.0],   # epoch 5 -> step 6: rise (drop < 0): x0.5
        [1.5, 1.5],   # epoch 6 -> step 7: drop 0.5: keep
    ]
    lrs = _lrs(hub, scheduler, epochs)
    w = 0.1 * 2 / 3
    expected = [0.1, 0.1 / 3, w, w, w, w * 0.5, w * 0.25, w * 0.25]
    assert lrs == pytest.approx(expected, rel=1e-12)
    assert scheduler.last_loss == pytest.approx(1.5)


def test_both_thresholds_must_hold(hub):
    """A drop under the absolute threshold but over the relative one (a small loss)
    is progress, and so is a drop over the absolute threshold."""
    opt = _optimizer(0.1)
    scheduler = ALRSLR(opt, warmup_epochs=1, decay=0.5, abs_threshold=0.01,
                       rel_threshold=0.01)
    epochs = [
        [100.0],    # recorded (warm-up of 1 epoch over): keep
        [99.5],     # drop 0.5 >= 0.01 (relative 0.5% < 1%): keep
        [99.499],   # drop 0.001, 0.001%: decay
        [0.1],      # drop 99.4: keep
        [0.095],    # drop 0.005 < 0.01, but 5% >= 1%: keep
        [0.0949],   # drop 0.0001, 0.1%: decay
    ]
    lrs = _lrs(hub, scheduler, epochs)
    assert lrs == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025])


def test_default_is_the_released_rule(hub):
    """30 warm-up epochs towards 0.1 (never reaching it), 0.01 / 0.01, x 0.97."""
    opt = _optimizer(0.1)
    scheduler = ALRSLR(opt)
    assert (scheduler.warmup_epochs, scheduler.decay, scheduler.abs_threshold,
            scheduler.rel_threshold) == (30, 0.97, 0.01, 0.01)
    lrs = _lrs(hub, scheduler, [[5.0]] * 32)
    assert lrs[1:30] == pytest.approx([0.1 * k / 30 for k in range(1, 30)])
    assert lrs[30] == pytest.approx(0.1 * 29 / 30)  # first loss only recorded
    # a constant loss is a plateau every epoch
    assert lrs[31:] == pytest.approx([0.1 * 29 / 30 * 0.97, 0.1 * 29 / 30 * 0.97**2])


def test_max_value_sets_the_warmup_target_for_a_smaller_start(hub):
    """MobileNet in the released code: epoch 0 at 0.01, then towards 0.1."""
    opt = _optimizer(0.01)
    scheduler = ALRSLR(opt, warmup_epochs=4, max_value=0.1)
    lrs = _lrs(hub, scheduler, [[1.0]] * 4)
    assert lrs == pytest.approx([0.01, 0.025, 0.05, 0.075, 0.075])


def test_groups_keep_their_own_values_without_max_value(hub):
    opt = _optimizer(0.1, groups=[0.2])
    scheduler = ALRSLR(opt, warmup_epochs=2, decay=0.5)
    for epoch in range(3):  # warm-up 1/2, loss recorded, plateau
        _run_epoch(hub, [1.0], scheduler, epoch)
    assert [g['lr'] for g in opt.param_groups] == pytest.approx([0.025, 0.05])


def test_momentum_can_be_scheduled(hub):
    opt = _optimizer(0.1)
    scheduler = ALRSParamScheduler(opt, 'momentum', warmup_epochs=2)
    _run_epoch(hub, [1.0], scheduler, 0)
    assert opt.param_groups[0]['momentum'] == pytest.approx(0.45)


def test_state_dict_resume_continues_the_same_sequence(hub):
    """Save after 5 epochs, rebuild optimizer and scheduler as a resuming Runner does
    (fresh objects, then load_state_dict of both), continue: same lrs as unbroken."""
    epochs = [[5.0, 4.0], [3.0, 3.0], [2.0, 2.0], [2.0, 1.999], [1.5, 1.5],
              [1.5, 1.5], [1.4, 1.6], [1.0, 1.0]]
    reference = _optimizer(0.1)
    unbroken = _lrs(hub, ALRSLR(reference, warmup_epochs=2, decay=0.5), epochs)

    hub2 = _new_hub()
    opt = _optimizer(0.1)
    first = ALRSLR(opt, warmup_epochs=2, decay=0.5)
    before = _lrs(hub2, first, epochs[:5])
    opt_state, sched_state = opt.state_dict(), first.state_dict()
    assert sched_state['last_loss'] == pytest.approx(1.5)
    assert 'optimizer' not in sched_state

    resumed_opt = _optimizer(0.1)
    resumed = ALRSLR(resumed_opt, warmup_epochs=2, decay=0.5)
    resumed_opt.load_state_dict(opt_state)
    resumed.load_state_dict(sched_state)
    after = _lrs(hub2, resumed, epochs[5:], start_iter=10)
    assert before + after[1:] == pytest.approx(unbroken)


def test_rejects_iteration_based_stepping():
    with pytest.raises(ValueError, match='defined per epoch.*by_epoch=True'):
        ALRSLR(_optimizer(), by_epoch=False)


def test_rejects_one_max_value_for_groups_with_different_values():
    with pytest.raises(ValueError, match=r'groups start from different values '
                       r'\[0.1, 0.2\]. Leave max_value=None'):
        ALRSLR(_optimizer(0.1, groups=[0.2]), max_value=0.1)


def test_rejects_bad_warmup_and_decay():
    with pytest.raises(ValueError, match='warmup_epochs must be >= 1, got 0'):
        ALRSLR(_optimizer(), warmup_epochs=0)
    with pytest.raises(ValueError, match=r'decay must be in \(0, 1\], got 1.5'):
        ALRSLR(_optimizer(), decay=1.5)


def test_missing_loss_is_an_error_naming_the_key(hub):
    scheduler = ALRSLR(_optimizer(), warmup_epochs=1, loss_key='loss_total')
    hub.update_info('iter', 0)
    hub.update_scalar('train/loss', 1.0)
    with pytest.raises(RuntimeError, match='"train/loss_total", which was never logged'):
        scheduler.step()


def test_stepping_without_iterations_is_an_error(hub):
    scheduler = ALRSLR(_optimizer(), warmup_epochs=1)
    _run_epoch(hub, [1.0], scheduler, 0)
    with pytest.raises(RuntimeError, match='stepped twice at iteration 1'):
        scheduler.step()


def test_runner_steps_it_from_the_logged_training_loss(tmp_path):
    """In a Runner: RuntimeInfoHook logs train/loss, ParamSchedulerHook steps ALRS."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class ConstantLoss(BaseModel):
        """A model whose loss never improves: ALRS decays after every epoch."""

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, inputs, mode='loss'):
            return dict(loss=self.w.sum() * 0 + 2.0)

    data = [dict(inputs=torch.zeros(1))] * 3
    runner = Runner(
        model=ConstantLoss(),
        work_dir=str(tmp_path),
        train_dataloader=dict(dataset=data, sampler=dict(type='DefaultSampler'),
                              batch_size=1, collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        param_scheduler=dict(type='ALRSLR', warmup_epochs=2, decay=0.5),
        train_cfg=dict(by_epoch=True, max_epochs=5),
        default_hooks=dict(logger=None, checkpoint=None),
        experiment_name=f'test_alrs_runner_{next(_HUB_NUMBERS)}')
    runner.train()
    # the lr of every iteration, as logged: epochs 0-4 run at 0.1, 0.05 (warm-up 1/2),
    # 0.05 (first loss recorded), 0.025 and 0.0125 (plateaus)
    lrs = runner.message_hub.get_scalar('train/lr').data[0]
    assert lrs.tolist() == pytest.approx(
        [lr for lr in (0.1, 0.05, 0.05, 0.025, 0.0125) for _ in range(3)])
    # stepped after epochs 0-3 (the Runner ends it at max_epochs)
    assert runner.param_schedulers[0].iters_done == 12


def test_stepping_outside_a_runner_is_an_error_saying_so(hub):
    scheduler = ALRSLR(_optimizer(), warmup_epochs=2)
    with pytest.raises(RuntimeError, match='none is there: step it inside a Runner'):
        scheduler.step()
