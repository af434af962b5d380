"""restore_global_rng_state with the states of a checkpoint loaded onto another device
(``Runner.resume`` maps a checkpoint onto the current one): torch's setters take a CPU
uint8 tensor only."""
import random
from unittest import mock

import numpy as np
import pytest
import torch

from mmrazor_relkd.models.distillers import rng_isolation
from mmrazor_relkd.models.distillers.rng_isolation import (global_rng_state,
                                                           restore_global_rng_state)


def _draws() -> tuple:
    return random.random(), float(np.random.rand()), torch.rand(3)


def test_a_torch_state_that_is_not_a_cpu_byte_tensor_is_restored():
    state = global_rng_state()
    expected = _draws()
    moved = state['torch'].long()
    # what a CUDA tensor gets too (the check: strided, CPU, uint8)
    with pytest.raises(TypeError, match='RNG state must be a torch.ByteTensor'):
        torch.set_rng_state(moved)
    restore_global_rng_state(dict(state, torch=moved))
    python, numpy, drawn = _draws()
    assert (python, numpy) == expected[:2]
    assert torch.equal(drawn, expected[2])


def test_the_cuda_state_reaches_torch_as_a_cpu_byte_tensor():
    """Without a GPU: what ``torch.cuda.set_rng_state`` gets (it hands it to the
    device's generator, which takes a CPU ByteTensor only)."""
    state = dict(global_rng_state(), cuda=torch.arange(16))
    with mock.patch.object(rng_isolation, '_cuda_devices', return_value=[0]), \
            mock.patch.object(torch.cuda, 'set_rng_state') as set_cuda_state:
        restore_global_rng_state(state)
    ((restored, device), ) = [call.args for call in set_cuda_state.call_args_list]
    assert device == 0
    assert (restored.device.type, restored.dtype) == ('cpu', torch.uint8)
    assert torch.equal(restored, torch.arange(16, dtype=torch.uint8))
