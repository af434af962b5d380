"""Timing helpers shared by the distillation benchmarks in this folder.

A benchmark compares methods side by side: :func:`interleaved_medians` alternates the
timed calls (ABBA order) so that a drifting machine load hits all of them alike, and
:func:`distill_losses_step` times an mmrazor algorithm's distillation losses alone on
the tensors its recorders captured during the last training step.
"""
import statistics
import time
from typing import Any, Callable, Dict, List

import torch
from torch import Tensor

def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)


def seconds_per_call(fn: Callable[[], object], device: str) -> float:
    """Wall-clock seconds of one ``fn()``, the device synchronised around it."""
    _sync(device)
    start = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - start


def interleaved_medians(calls: Dict[str, Callable[[], object]], repeats: int,
                        device: str) -> Dict[str, float]:
    """Median seconds per call; the methods alternate call by call (ABBA order) so
    that a drifting machine load hits all of them alike."""
    times: Dict[str, List[float]] = {name: [] for name in calls}
    for repeat in range(repeats):
        order = list(calls) if repeat % 2 == 0 else list(reversed(list(calls)))
        for name in order:
            times[name].append(seconds_per_call(calls[name], device))
    return {name: statistics.median(values) for name, values in times.items()}


def _detached(data: Any, requires_grad: bool) -> Any:
    """A copy of a recorded tensor (or tuple / list of them) cut from its graph."""
    if isinstance(data, Tensor):
        return data.detach().clone().requires_grad_(requires_grad)
    if isinstance(data, (tuple, list)):
        return type(data)(_detached(item, requires_grad) for item in data)
    return data


def distill_losses_step(algorithm: torch.nn.Module) -> Callable[[], None]:
    """Forward + backward of the algorithm's distillation losses alone, on the records
    of its last training step cut from their graph (student tensors become leaves that
    require grad). Each call puts those records back into the recorders, so training
    steps may run in between, and computes the losses with mmrazor's own
    ``compute_distill_losses`` (``data_idx`` and connectors apply as in training)."""
    distiller = algorithm.distiller
    snapshot = [(recorder, [_detached(record, requires_grad)
                            for record in recorder.data_buffer])
                for requires_grad, manager in ((True, distiller.student_recorders),
                                               (False, distiller.teacher_recorders))
                for recorder in manager.recorders.values()]

    def step() -> None:
        for recorder, records in snapshot:
            recorder.data_buffer[:] = records
        sum(distiller.compute_distill_losses().values()).backward()
    return step
