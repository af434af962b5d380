"""VGG networks for CIFAR with batch normalisation (VGG-8, VGG-11, VGG-13, ...)."""
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS
from torch import Tensor

from .stage_outputs import CONV_BN_INIT_CFG, checked_out_indices


@MODELS.register_module()
class VGGCIFAR(BaseBackbone):
    """The CIFAR VGG of the distillation model family (CRD code base, Tian et al.).

    Five stages of 3x3 conv (with bias) - BN - ReLU layers with 64, 128, 256, 512, 512
    channels; a 2x2 max-pool follows each of the first three stages only, so a
    32 x 32 input ends at 4 x 4 (mmpretrain's ImageNet ``VGG`` pools after every
    stage and has no VGG-8).

    Convs per stage: VGG-8 (1, 1, 1, 1, 1), VGG-11 (1, 1, 2, 2, 2),
    VGG-13 (2, 2, 2, 2, 2), VGG-16 (2, 2, 3, 3, 3), VGG-19 (2, 2, 4, 4, 4).

    Args:
        depth: 8, 11, 13, 16 or 19.
        out_indices: Stages (0-4) whose outputs are returned, as a tuple.
        norm_cfg: Normalisation layer config.
        init_cfg: mmengine initialisation config.
    """

    arch_settings = {
        8: (1, 1, 1, 1, 1),
        11: (1, 1, 2, 2, 2),
        13: (2, 2, 2, 2, 2),
        16: (2, 2, 3, 3, 3),
        19: (2, 2, 4, 4, 4),
    }
    stage_channels = (64, 128, 256, 512, 512)
    num_pooled_stages = 3

    def __init__(self,
                 depth: int,
                 out_indices: Sequence[int] = (4, ),
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[List[dict]] = CONV_BN_INIT_CFG) -> None:
        super().__init__(init_cfg)
        if depth not in self.arch_settings:
            raise ValueError(f'VGGCIFAR depth must be one of '
                             f'{sorted(self.arch_settings)}, got {depth}.')
        self.out_indices = checked_out_indices('VGGCIFAR', out_indices, 5)
        self.stages = nn.ModuleList()
        in_channels = 3
        for num_convs, out_channels in zip(self.arch_settings[depth],
                                           self.stage_channels):
            self.stages.append(
                nn.Sequential(*[
                    ConvModule(
                        in_channels if i == 0 else out_channels,
                        out_channels,
                        3,
                        padding=1,
                        bias=True,
                        norm_cfg=norm_cfg) for i in range(num_convs)
                ]))
            in_channels = out_channels
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        for stage_idx, stage in enumerate(self.stages):
            x = stage(x)
            if stage_idx in self.out_indices:
                outs.append(x)
            if stage_idx < self.num_pooled_stages:
                x = self.pool(x)
        return tuple(outs)
