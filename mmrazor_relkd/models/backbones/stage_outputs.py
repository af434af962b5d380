"""What the staged backbones of this package share: the default initialisation,
``out_indices`` handling and the stage loop."""
from typing import List, Sequence, Tuple

from torch import Tensor, nn

#: Default ``init_cfg`` of the backbones: Kaiming for convolutions, BN weights 1
#: (mmengine's ``BaseModule`` deep-copies it, so sharing the list is safe).
CONV_BN_INIT_CFG: List[dict] = [
    dict(type='Kaiming', layer='Conv2d'),
    dict(type='Constant', val=1, layer='_BatchNorm')
]


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
