"""ALRS under data parallelism: two CPU processes (gloo) whose ranks log different
training losses take the same decisions, the ones that the loss of the whole epoch (the
mean over both ranks) gives, where each rank's own loss would have decided otherwise."""
import itertools
import uuid
from typing import List, Sequence

import pytest
import torch
from mmengine.logging import MessageHub

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor_relkd.engine.schedulers import ALRSLR
from two_ranks import run_two_ranks

# Per rank (outer), per epoch, the losses of the epoch's iterations. One warm-up epoch,
# so the loss of epoch 0 is the first one recorded. Epoch means, rank 0 / rank 1 / both:
# 2.0 / 1.0 / 1.5, then 2.0 / 0.5 / 1.25, then 2.5 / 0.25 / 1.375.
RANK_LOSSES = [
    [[2.5, 1.5], [2.0, 2.0], [3.0, 2.0]],
    [[1.0, 1.0], [0.25, 0.75], [0.5, 0.0]],
]
SCHEDULE = dict(warmup_epochs=1, decay=0.5, abs_threshold=0.01, rel_threshold=0.01)
LR = 0.1


def _lrs(epochs: Sequence[Sequence[float]]) -> List[float]:
    """The lr of each epoch, then after the last, with ALRS stepped after each epoch
    from the losses as mmengine's RuntimeInfoHook logs them (in a new MessageHub)."""
    hub = MessageHub.get_instance(f'test_alrs_ddp_{uuid.uuid4().hex}')
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=LR)
    scheduler = ALRSLR(optimizer, **SCHEDULE)
    iteration = itertools.count()
    lrs = [optimizer.param_groups[0]['lr']]
    for losses in epochs:
        for loss in losses:
            hub.update_info('iter', next(iteration))
            hub.update_scalar('train/loss', loss)
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]['lr'])
    return lrs


def _worker(rank: int, out_dir: str) -> List[float]:
    return _lrs(RANK_LOSSES[rank])


@pytest.fixture(scope='module')
def rank_lrs(tmp_path_factory) -> List[List[float]]:
    return run_two_ranks(_worker, str(tmp_path_factory.mktemp('alrs_ddp')))


def test_each_ranks_own_losses_would_decide_differently():
    """The data is a real test: rank 0 alone sees a plateau, then a rise (two decays);
    rank 1 alone sees progress twice (none); both differ from the whole epochs'."""
    assert _lrs(RANK_LOSSES[0]) == pytest.approx([LR, LR, LR / 2, LR / 4])
    assert _lrs(RANK_LOSSES[1]) == pytest.approx([LR, LR, LR, LR])


def test_ranks_decide_from_the_loss_of_the_whole_epoch(rank_lrs):
    """Both ranks: recorded, progress (1.5 -> 1.25), a rise (1.25 -> 1.375); the same as
    one process that runs every iteration of both ranks (equal counts per rank)."""
    expected = [LR, LR, LR, LR / 2]
    assert rank_lrs[0] == pytest.approx(expected, rel=1e-12)
    assert rank_lrs[1] == rank_lrs[0]
    whole_epochs = [list(r0) + list(r1) for r0, r1 in zip(*RANK_LOSSES)]
    assert _lrs(whole_epochs) == pytest.approx(expected, rel=1e-12)
