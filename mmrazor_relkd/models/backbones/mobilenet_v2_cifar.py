"""MobileNet V2 in the CIFAR width of the distillation model family."""
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS
from torch import Tensor

from .stage_outputs import CONV_BN_INIT_CFG, checked_out_indices, stage_outputs


class InvertedResidualCIFAR(BaseModule):
    """1x1 expansion - 3x3 depthwise - linear 1x1 projection, plus the input when
    the shape is kept. The expansion conv is present even for ``expand_ratio=1``,
    as in the CRD code base (mmpretrain drops it there)."""

    def __init__(self, in_channels: int, out_channels: int, stride: int,
                 expand_ratio: int, norm_cfg: dict) -> None:
        super().__init__()
        mid_channels = in_channels * expand_ratio
        self.use_residual = stride == 1 and in_channels == out_channels
        self.conv = nn.Sequential(
            ConvModule(in_channels, mid_channels, 1, bias=False,
                       norm_cfg=norm_cfg),
            ConvModule(mid_channels, mid_channels, 3, stride=stride, padding=1,
                       groups=mid_channels, bias=False, norm_cfg=norm_cfg),
            ConvModule(mid_channels, out_channels, 1, bias=False,
                       norm_cfg=norm_cfg, act_cfg=None))

    def forward(self, x: Tensor) -> Tensor:
        out = self.conv(x)
        return x + out if self.use_residual else out


@MODELS.register_module()
class MobileNetV2CIFAR(BaseBackbone):
    """MobileNet V2 for 32 x 32 inputs (Sandler et al., CVPR 2018; the
    ``mobile_half`` of the CRD code base, Tian et al., ICLR 2020, is
    ``widen_factor=0.5``).

    A stride-2 3x3 stem conv, seven groups of inverted residuals (expansion ``t``,
    channels, repeats, stride) = (1, 16, 1, 1), (t, 24, 2, 1), (t, 32, 3, 2),
    (t, 64, 4, 2), (t, 96, 3, 1), (t, 160, 3, 2), (t, 320, 1, 1) with channels times
    ``widen_factor`` (truncated, not rounded to multiples of 8), and a final 1x1 conv
    to 1280 channels (``1280 * widen_factor`` when that is larger). A 32 x 32 input
    ends at 2 x 2. mmpretrain's ``MobileNetV2`` is the ImageNet network (other
    strides, channels rounded to multiples of 8).

    Args:
        widen_factor: Channel multiplier of the stem and the inverted residuals.
        expand_ratio: ``t``, the expansion of every group but the first.
        out_indices: Outputs to return, as a tuple: 0-6 the inverted residual
            groups, 7 the final 1x1 conv.
        norm_cfg: Normalisation layer config.
        init_cfg: mmengine initialisation config.
    """

    # (channels, repeats, stride of the first block); expansion 1 for group 0.
    arch_settings = ((16, 1, 1), (24, 2, 1), (32, 3, 2), (64, 4, 2), (96, 3, 1),
                     (160, 3, 2), (320, 1, 1))

    def __init__(self,
                 widen_factor: float = 0.5,
                 expand_ratio: int = 6,
                 out_indices: Sequence[int] = (7, ),
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[List[dict]] = CONV_BN_INIT_CFG) -> None:
        super().__init__(init_cfg)
        self.out_indices = checked_out_indices('MobileNetV2CIFAR', out_indices, 8,
                                               unit='outputs')
        in_channels = int(32 * widen_factor)
        self.stem = ConvModule(
            3, in_channels, 3, stride=2, padding=1, bias=False,
            norm_cfg=norm_cfg)
        self.layers = nn.ModuleList()
        for group_idx, (channels, repeats, stride) in enumerate(
                self.arch_settings):
            out_channels = int(channels * widen_factor)
            group_expand_ratio = 1 if group_idx == 0 else expand_ratio
            blocks = []
            for i in range(repeats):
                blocks.append(
                    InvertedResidualCIFAR(in_channels, out_channels,
                                          stride if i == 0 else 1,
                                          group_expand_ratio, norm_cfg))
                in_channels = out_channels
            self.layers.append(nn.Sequential(*blocks))
        self.layers.append(
            ConvModule(in_channels, max(1280, int(1280 * widen_factor)), 1,
                       bias=False, norm_cfg=norm_cfg))

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        return stage_outputs(self.stem(x), self.layers, self.out_indices)
