"""The end of a distributed run of tools/train.py and tools/test.py: leave the process
group before the interpreter shuts down.

mmengine initialises the process group and never destroys it, so gloo's worker threads
(``pt_gloo_runloop``) outlive ``main()``. One of them can still be releasing the run's
last collective (mmengine's ``broadcast_object_list`` of the metrics) while the
interpreter finalises. Freeing that collective's tensors needs the GIL; Python 3.11 ends a
thread that asks for it during finalisation with ``pthread_exit``; the unwind meets a
``noexcept`` destructor and C++ calls ``terminate``: ``terminate called without an active
exception``, SIGABRT, and torchrun reports a finished run as FAILED (about 1 run in 10 of
two CPU processes).
"""
import gc

import torch.distributed as dist


def leave_process_group() -> None:
    """Wait for every rank, then destroy the default process group and stop its threads.

    Call it once the runner is dropped: its DDP wrapper references the group, and gloo
    stops its threads only when the group's last reference goes. The runner's reference
    cycles are collected here while this function still holds the group, so the last
    reference is dropped from Python on return, which releases the GIL while the group
    joins its threads (dropped by the DDP reducer's destructor instead, the GIL would be
    held: torch 2.1 deadlocks there). A no-op outside a distributed run.
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    group = dist.group.WORLD
    dist.barrier()
    dist.destroy_process_group()
    gc.collect()
    del group  # the last reference: gloo joins its threads now, before finalisation
