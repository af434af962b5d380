"""The dtype a loss computes in: float32 for half inputs (also under autocast), float64
kept as float64."""
from typing import Tuple

import torch
from torch import Tensor


def to_loss_precision(*tensors: Tensor) -> Tuple[Tensor, ...]:
    """Cast all ``tensors`` to float64 if any of them is float64, else to float32.

    Call it inside ``torch.autocast(device_type=..., enabled=False)`` so that the
    operations that follow also run in that dtype.
    """
    dtype = torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32
    return tuple(t.to(dtype) for t in tensors)
