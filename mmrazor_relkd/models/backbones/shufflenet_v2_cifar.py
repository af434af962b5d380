"""ShuffleNet V2 with a CIFAR stem (the pytorch-cifar100 model family)."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.utils import channel_shuffle
from mmpretrain.registry import MODELS
from torch import Tensor

from .stage_outputs import CONV_BN_INIT_CFG, checked_out_indices, stage_outputs


def _branch(in_channels: int, mid_channels: int, out_channels: int, stride: int,
            norm_cfg: dict) -> nn.Sequential:
    """1x1 conv (BN, ReLU) - 3x3 depthwise conv (BN) - 1x1 conv (BN, ReLU)."""
    return nn.Sequential(
        ConvModule(in_channels, mid_channels, 1, bias=True, norm_cfg=norm_cfg),
        ConvModule(mid_channels, mid_channels, 3, stride=stride, padding=1,
                   groups=mid_channels, bias=True, norm_cfg=norm_cfg, act_cfg=None),
        ConvModule(mid_channels, out_channels, 1, bias=True, norm_cfg=norm_cfg))


class ShuffleUnitCIFAR(BaseModule):
    """One ShuffleNet V2 unit; the two halves of its output are interleaved.

    A unit that keeps shape and channels splits its input in two halves: one passes
    unchanged, the other goes through :func:`_branch`. A downsampling unit (stride 2
    or a change of channels) feeds its whole input to both branches: :func:`_branch`
    and a projection (3x3 depthwise conv with BN, then a 1x1 conv with BN and ReLU),
    each producing half of the output channels.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 norm_cfg: dict) -> None:
        super().__init__()
        half = out_channels // 2
        self.splits = stride == 1 and in_channels == out_channels
        if self.splits:
            self.projection = None
            self.branch = _branch(half, half, half, 1, norm_cfg)
        else:
            self.branch = _branch(in_channels, in_channels, half, stride, norm_cfg)
            self.projection = nn.Sequential(
                ConvModule(in_channels, in_channels, 3, stride=stride, padding=1,
                           groups=in_channels, bias=True, norm_cfg=norm_cfg,
                           act_cfg=None),
                ConvModule(in_channels, half, 1, bias=True, norm_cfg=norm_cfg))

    def forward(self, x: Tensor) -> Tensor:
        if self.splits:
            passed, processed = x.chunk(2, dim=1)
        else:
            passed, processed = self.projection(x), x
        return channel_shuffle(torch.cat([passed, self.branch(processed)], dim=1), 2)


@MODELS.register_module()
class ShuffleNetV2CIFAR(BaseBackbone):
    """ShuffleNet V2 (Ma et al., ECCV 2018) for 32 x 32 inputs, as in the CIFAR-100
    model zoo ``weiaicunzai/pytorch-cifar100`` (``models/shufflenetv2.py``), from which
    the KDA authors' released CIFAR networks are modified.

    Stem: a 3x3 stride-1 conv to 24 channels with BN (no ReLU, no max-pool). Three
    stages of 4, 8 and 4 units, each starting with a stride-2 unit (32 -> 16 -> 8 -> 4
    on CIFAR), then a 1x1 conv with BN and ReLU. Every conv has a bias, as in the
    reference. mmpretrain's ``ShuffleNetV2`` is the ImageNet network (stride-2 stem and
    max-pool: a 1 x 1 last stage on 32 x 32 inputs).

    Args:
        widen_factor: 0.5, 1.0, 1.5 or 2.0: stage widths 48/96/192, 116/232/464,
            176/352/704 or 244/488/976, last conv 1024 (2048 for 2.0).
        out_indices: Outputs returned, as a tuple: stages 0-2, and 3 for the last
            1x1 conv.
        norm_cfg: Normalisation layer config.
        init_cfg: mmengine initialisation config.
    """

    arch_settings = {
        0.5: (48, 96, 192, 1024),
        1.0: (116, 232, 464, 1024),
        1.5: (176, 352, 704, 1024),
        2.0: (244, 488, 976, 2048),
    }
    units_per_stage = (4, 8, 4)
    stem_channels = 24

    def __init__(self,
                 widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (3, ),
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[List[dict]] = CONV_BN_INIT_CFG) -> None:
        super().__init__(init_cfg)
        if widen_factor not in self.arch_settings:
            raise ValueError(f'ShuffleNetV2CIFAR widen_factor must be one of '
                             f'{sorted(self.arch_settings)}, got {widen_factor}.')
        self.out_indices = checked_out_indices('ShuffleNetV2CIFAR', out_indices, 4,
                                               unit='outputs')
        *stage_channels, last_channels = self.arch_settings[widen_factor]
        self.stem = ConvModule(3, self.stem_channels, 3, padding=1, bias=True,
                               norm_cfg=norm_cfg, act_cfg=None)
        self.layers = nn.ModuleList()
        in_channels = self.stem_channels
        for out_channels, num_units in zip(stage_channels, self.units_per_stage):
            self.layers.append(nn.Sequential(*[
                ShuffleUnitCIFAR(in_channels if i == 0 else out_channels,
                                 out_channels, 2 if i == 0 else 1, norm_cfg)
                for i in range(num_units)
            ]))
            in_channels = out_channels
        self.layers.append(
            ConvModule(in_channels, last_channels, 1, bias=True, norm_cfg=norm_cfg))

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        return stage_outputs(self.stem(x), self.layers, self.out_indices)
