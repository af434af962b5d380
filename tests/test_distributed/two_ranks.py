"""Two gloo ranks for the distributed tests: rank 0 runs in the test's process, rank 1
in a spawned one (one interpreter start, the slow part: it imports the OpenMMLab
stack)."""
import os
import socket
from typing import Any, Callable, List

import torch
import torch.multiprocessing as mp

WORLD_SIZE = 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_two_ranks(worker: Callable[[int, int, str], None], out_dir: str) -> List[Any]:
    """Run ``worker(rank, port, out_dir)`` as ranks 0 and 1 of one process group; each
    rank saves its results to ``out_dir/rank<rank>.pth``. Returns them, rank 0 first."""
    port = free_port()
    other = mp.get_context('spawn').Process(target=worker, args=(1, port, out_dir))
    other.start()
    try:
        worker(0, port, out_dir)
    finally:
        other.join(timeout=120)
    assert other.exitcode == 0, f'rank 1 failed with exit code {other.exitcode}'
    return [torch.load(os.path.join(out_dir, f'rank{rank}.pth'),
                       weights_only=False)  # the ranks' own results (numpy scalars)
            for rank in range(WORLD_SIZE)]
