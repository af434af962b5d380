"""Build and initialise what a distillation adds to a student without touching the
global random-number streams, so that the student starts and trains exactly as it
would alone with the same seed."""
import random
from contextlib import contextmanager
from typing import Iterator

import numpy as np
import torch


@contextmanager
def preserved_global_rng() -> Iterator[None]:
    """Restore Python's, NumPy's and torch's global random states on exit.

    Covers torch's CPU generator and, when CUDA is initialised, the current device's
    generator (only that one: reading the others would create a CUDA context on every
    device from every rank).
    """
    python_state = random.getstate()
    numpy_state = np.random.get_state()
    devices = ([torch.cuda.current_device()]
               if torch.cuda.is_available() and torch.cuda.is_initialized() else [])
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(python_state)
            np.random.set_state(numpy_state)
