"""tools/distributed_exit.py: after ``leave_process_group()`` no process group is left
and gloo's worker threads have stopped, also when the group was still referenced from
reference cycles (a dropped runner and its DDP wrapper), so that no gloo thread is left
to run into the interpreter's shutdown."""
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from mmengine.dist import broadcast_object_list
from torch.nn.parallel import DistributedDataParallel

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / 'tools'))
from distributed_exit import leave_process_group  # noqa: E402

GLOO_THREAD = 'pt_gloo_runloop'


def _gloo_threads() -> int:
    """Threads of this process that gloo's worker loop runs on (Linux: /proc)."""
    return sum((task / 'comm').read_text().strip() == GLOO_THREAD
               for task in Path('/proc/self/task').iterdir())


@pytest.fixture
def gloo_group():
    """A one-rank gloo group in this process, destroyed afterwards if still there."""
    assert not dist.is_initialized()
    dist.init_process_group('gloo', store=dist.HashStore(), rank=0, world_size=1)
    yield
    if dist.is_initialized():
        dist.destroy_process_group()


def _drop_a_runner_holding_the_group() -> None:
    """What a finished run leaves: a DDP-wrapped model that ran collectives (a backward
    pass, the metrics broadcast), referenced only from a reference cycle, as mmengine's
    Runner is (its hooks and loops point back at it)."""
    model = DistributedDataParallel(torch.nn.Linear(3, 2))
    model(torch.ones(4, 3)).sum().backward()
    broadcast_object_list([dict(accuracy=1.0)])
    runner = dict(model=model)
    runner['loop'] = dict(runner=runner)


@pytest.mark.skipif(not Path('/proc/self/task').is_dir(), reason='needs Linux /proc')
def test_stops_the_gloo_threads_of_a_group_a_dropped_runner_holds(gloo_group):
    _drop_a_runner_holding_the_group()
    assert _gloo_threads() > 0
    leave_process_group()
    assert not dist.is_initialized()
    assert _gloo_threads() == 0


def test_is_a_no_op_without_a_process_group():
    assert not dist.is_initialized()
    leave_process_group()
    assert not dist.is_initialized()
