"""Two gloo ranks for the distributed tests: rank 0 runs in the test's process, rank 1
in a spawned one (one interpreter start, the slow part: it imports the OpenMMLab
stack)."""
import os
import socket
from typing import Any, Callable, List

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

WORLD_SIZE = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _rank_main(worker: Callable[[int, str], Any], rank: int, port: int,
               out_dir: str) -> None:
    """One rank: join the gloo group, run ``worker(rank, out_dir)`` on one thread, save
    what it returns to ``out_dir/rank<rank>.pth``, and leave the group. A barrier comes
    first: torch 2.1's gloo group destructor joins its threads holding the GIL and can
    deadlock while one of them still finishes a work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=WORLD_SIZE)
    try:
        results = worker(rank, out_dir)
        torch.save(results, os.path.join(out_dir, f'rank{rank}.pth'))
        dist.barrier()
    finally:
        dist.destroy_process_group()
        torch.set_num_threads(threads)  # rank 0 runs in the test's process


def run_two_ranks(worker: Callable[[int, str], Any], out_dir: str) -> List[Any]:
    """Run ``worker(rank, out_dir)`` as ranks 0 and 1 of one gloo group (see
    :func:`_rank_main`). Returns what each returned, rank 0 first."""
    port = free_port()
    other = mp.get_context('spawn').Process(target=_rank_main,
                                            args=(worker, 1, port, out_dir))
    other.start()
    try:
        _rank_main(worker, 0, port, out_dir)
    finally:
        other.join(timeout=120)
    assert other.exitcode == 0, f'rank 1 failed with exit code {other.exitcode}'
    return [torch.load(os.path.join(out_dir, f'rank{rank}.pth'),
                       weights_only=False)  # the ranks' own results (numpy scalars)
            for rank in range(WORLD_SIZE)]
