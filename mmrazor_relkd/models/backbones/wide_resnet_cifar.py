"""Wide ResNets for CIFAR (WRN-40-2, WRN-40-1, WRN-16-2, ...)."""
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine.model import BaseModule
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS
from torch import Tensor

from .stage_outputs import CONV_BN_INIT_CFG, checked_out_indices


class PreActBasicBlock(BaseModule):
    """BN-ReLU-conv3x3-BN-ReLU-(dropout)-conv3x3 with an identity or 1x1 shortcut.

    When the shape changes, the shortcut is a 1x1 conv of the pre-activated input
    (Zagoruyko & Komodakis, 2016).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 drop_rate: float, norm_cfg: dict) -> None:
        super().__init__()
        self.norm1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.conv1 = nn.Conv2d(
            in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.norm2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.conv2 = nn.Conv2d(
            out_channels, out_channels, 3, padding=1, bias=False)
        self.drop_rate = drop_rate
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(
                in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        pre = F.relu(self.norm1(x))
        out = F.relu(self.norm2(self.conv1(pre)))
        out = F.dropout(out, p=self.drop_rate, training=self.training)
        out = self.conv2(out)
        return out + (x if self.shortcut is None else self.shortcut(pre))


@MODELS.register_module()
class WideResNetCIFAR(BaseBackbone):
    """WRN-depth-k for 32 x 32 inputs (Zagoruyko & Komodakis, BMVC 2016).

    A 3x3 stem conv (16 channels) and three stages of ``n = (depth - 4) / 6``
    pre-activation basic blocks with ``16k, 32k, 64k`` channels (strides 1, 2, 2),
    followed by the final BN-ReLU, which belongs to the last stage's output. This is
    the variant of the CIFAR distillation model family (CRD code base, Tian et al.,
    ICLR 2020): WRN-40-2, WRN-40-1, WRN-16-2.

    Args:
        depth: ``6n + 4`` for ``n >= 1``.
        widen_factor: ``k``, the channel multiplier.
        drop_rate: Dropout between the two convs of each block.
        out_indices: Stages (0, 1, 2) whose outputs are returned, as a tuple.
        norm_cfg: Normalisation layer config.
        init_cfg: mmengine initialisation config.
    """

    def __init__(self,
                 depth: int,
                 widen_factor: int = 1,
                 drop_rate: float = 0.0,
                 out_indices: Sequence[int] = (2, ),
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[List[dict]] = CONV_BN_INIT_CFG) -> None:
        super().__init__(init_cfg)
        if depth < 10 or (depth - 4) % 6 != 0:
            raise ValueError(
                f'WideResNetCIFAR needs depth = 6n + 4 with n >= 1 (e.g. 16, 28, '
                f'40), got {depth}.')
        blocks_per_stage = (depth - 4) // 6
        channels = [16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        self.out_indices = checked_out_indices('WideResNetCIFAR', out_indices, 3)
        self.stem = nn.Conv2d(3, 16, 3, padding=1, bias=False)
        self.stages = nn.ModuleList()
        in_channels = 16
        for stage_idx, out_channels in enumerate(channels):
            stride = 1 if stage_idx == 0 else 2
            self.stages.append(
                nn.Sequential(*[
                    PreActBasicBlock(in_channels if i == 0 else out_channels,
                                     out_channels, stride if i == 0 else 1,
                                     drop_rate, norm_cfg)
                    for i in range(blocks_per_stage)
                ]))
            in_channels = out_channels
        self.final_norm = build_norm_layer(norm_cfg, channels[-1])[1]

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        x = self.stem(x)
        outs = []
        for stage_idx, stage in enumerate(self.stages):
            x = stage(x)
            if stage_idx == len(self.stages) - 1:
                x = F.relu(self.final_norm(x))
            if stage_idx in self.out_indices:
                outs.append(x)
        return tuple(outs)
