"""The global random-number streams (Python's, NumPy's, torch's) as one state: read,
restored, and kept unchanged around code that must not advance them (building a
teacher, validating in the middle of training)."""
import random
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List

import numpy as np
import torch


def _cuda_devices() -> List[int]:
    """The current CUDA device when CUDA is initialised (only that one: reading the
    others would create a CUDA context on every device from every rank)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return [torch.cuda.current_device()]
    return []


def global_rng_state() -> Dict[str, Any]:
    """Python's, NumPy's and torch's global random states (torch's CPU generator and,
    when CUDA is initialised, the current device's), as picklable values."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    for device in _cuda_devices():
        state['cuda'] = torch.cuda.get_rng_state(device)
    return state


def _byte_tensor_on_cpu(state: torch.Tensor) -> torch.Tensor:
    """A generator state as the CPU ``ByteTensor`` torch's setters take: a checkpoint
    loaded with ``map_location`` set to a device (``Runner.resume`` maps to the current
    one) holds it as a tensor on that device."""
    return state.to(device='cpu', dtype=torch.uint8)


def restore_global_rng_state(state: Dict[str, Any]) -> None:
    """Set the global random states to ``state`` from :func:`global_rng_state`, also
    where its tensors were loaded onto another device."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(_byte_tensor_on_cpu(state['torch']))
    for device in _cuda_devices():
        if 'cuda' in state:
            torch.cuda.set_rng_state(_byte_tensor_on_cpu(state['cuda']), device)


@contextmanager
def preserved_global_rng() -> Iterator[None]:
    """Restore the global random states of :func:`global_rng_state` on exit."""
    state = global_rng_state()
    try:
        yield
    finally:
        restore_global_rng_state(state)
