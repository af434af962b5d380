"""What the staged backbones of this package share: ``out_indices`` handling."""
from typing import Sequence, Tuple

from torch import Tensor, nn


def checked_out_indices(backbone: str, out_indices: Sequence[int], num_outputs: int,
                        unit: str = 'stages') -> Tuple[int, ...]:
    """``out_indices`` as a tuple, or a ValueError naming the valid range."""
    if any(i not in range(num_outputs) for i in out_indices):
        valid = (', '.join(map(str, range(num_outputs)))
                 if num_outputs <= 3 else f'0-{num_outputs - 1}')
        raise ValueError(f'{backbone} has {unit} {valid}; got out_indices={out_indices}.')
    return tuple(out_indices)


def stage_outputs(x: Tensor, stages: nn.ModuleList,
                  out_indices: Tuple[int, ...]) -> Tuple[Tensor, ...]:
    """Run ``stages`` in sequence and return the outputs listed in ``out_indices``."""
    outs = []
    for index, stage in enumerate(stages):
        x = stage(x)
        if index in out_indices:
            outs.append(x)
    return tuple(outs)
