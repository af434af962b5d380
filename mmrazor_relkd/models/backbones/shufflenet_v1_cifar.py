"""ShuffleNet V1 in the CIFAR width of the distillation model family."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.utils import channel_shuffle
from mmpretrain.registry import MODELS
from torch import Tensor

from .stage_outputs import CONV_BN_INIT_CFG, checked_out_indices, stage_outputs


class ShuffleBottleneckCIFAR(BaseModule):
    """1x1 group conv - shuffle - 3x3 depthwise conv - 1x1 group conv, then add the
    input (stride 1) or concatenate its 3x3 average pool (stride 2), then ReLU.

    As in the CIFAR ShuffleNet of the CRD code base: the bottleneck width is a quarter
    of the channels this branch produces (``out_channels - in_channels`` for the
    concatenating block), and the depthwise conv is followed by BN and ReLU (the
    paper's unit has no ReLU there).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 groups: int, first_conv_groups: int, norm_cfg: dict) -> None:
        super().__init__()
        self.stride = stride
        self.first_conv_groups = first_conv_groups
        branch_channels = out_channels - in_channels if stride == 2 else out_channels
        mid_channels = branch_channels // 4
        self.compress = ConvModule(
            in_channels, mid_channels, 1, groups=first_conv_groups,
            bias=False, norm_cfg=norm_cfg)
        self.depthwise = ConvModule(
            mid_channels, mid_channels, 3, stride=stride, padding=1,
            groups=mid_channels, bias=False, norm_cfg=norm_cfg)
        self.expand = ConvModule(
            mid_channels, branch_channels, 1, groups=groups, bias=False,
            norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: Tensor) -> Tensor:
        out = channel_shuffle(self.compress(x), self.first_conv_groups)
        out = self.expand(self.depthwise(out))
        if self.stride == 2:
            return F.relu(torch.cat([out, F.avg_pool2d(x, 3, 2, 1)], dim=1))
        return F.relu(out + x)


@MODELS.register_module()
class ShuffleNetV1CIFAR(BaseBackbone):
    """ShuffleNet V1 for 32 x 32 inputs (Zhang et al., CVPR 2018; the ``ShuffleV1``
    of the CRD code base, Tian et al., ICLR 2020).

    A 1x1 stem conv to 24 channels (no stride, no pooling) and three stages of 4, 8, 4
    units with 240, 480, 960 output channels for ``groups=3`` (each stage starts with
    a stride-2 concatenating unit). mmpretrain's ``ShuffleNetV1`` is the ImageNet
    network (strided 3x3 stem and max-pool, other bottleneck widths).

    Args:
        groups: Groups of the 1x1 convs: 1, 2 or 3 (the paper's 4 and 8 give
            bottleneck widths that the groups do not divide with this code base's
            bottleneck rule).
        out_indices: Stages (0, 1, 2) whose outputs are returned, as a tuple.
        norm_cfg: Normalisation layer config.
        init_cfg: mmengine initialisation config.
    """

    arch_settings = {
        1: (144, 288, 576),
        2: (200, 400, 800),
        3: (240, 480, 960),
    }
    blocks_per_stage = (4, 8, 4)
    stem_channels = 24

    def __init__(self,
                 groups: int = 3,
                 out_indices: Sequence[int] = (2, ),
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[List[dict]] = CONV_BN_INIT_CFG) -> None:
        super().__init__(init_cfg)
        if groups not in self.arch_settings:
            raise ValueError(f'ShuffleNetV1CIFAR groups must be one of '
                             f'{sorted(self.arch_settings)}, got {groups}.')
        self.out_indices = checked_out_indices('ShuffleNetV1CIFAR', out_indices, 3)
        self.stem = ConvModule(
            3, self.stem_channels, 1, bias=False, norm_cfg=norm_cfg)
        self.stages = nn.ModuleList()
        in_channels = self.stem_channels
        for out_channels, num_blocks in zip(self.arch_settings[groups],
                                            self.blocks_per_stage):
            units = []
            for i in range(num_blocks):
                units.append(
                    ShuffleBottleneckCIFAR(
                        in_channels,
                        out_channels,
                        stride=2 if i == 0 else 1,
                        groups=groups,
                        first_conv_groups=1 if in_channels == self.stem_channels
                        else groups,
                        norm_cfg=norm_cfg))
                in_channels = out_channels
            self.stages.append(nn.Sequential(*units))

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        return stage_outputs(self.stem(x), self.stages, self.out_indices)
