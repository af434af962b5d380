"""MobileNet V1 (ImageNet), the student of the paper's ResNet-50 -> MobileNet-V1 pair."""
from typing import List, Optional, Sequence, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.registry import MODELS
from torch import Tensor

from .stage_outputs import CONV_BN_INIT_CFG, checked_out_indices, stage_outputs


@MODELS.register_module()
class MobileNetV1(BaseBackbone):
    """MobileNet V1 (Howard et al., 2017, Table 1), width multiplier 1 by default.

    A stride-2 3x3 conv to 32 channels, a depthwise-separable conv to 64, then four
    stages of depthwise-separable convs (3x3 depthwise - BN - ReLU - 1x1 - BN - ReLU),
    each opened by a stride-2 one: 128 x 2, 256 x 2, 512 x 6, 1024 x 2 (strides 4, 8,
    16, 32). 4.23M parameters with a 1000-class linear head, the network used as
    student in the ImageNet tables of CRD / ReviewKD / DIST / RCKA.

    Args:
        widen_factor: Width multiplier ``alpha`` applied to every layer.
        out_indices: Stages (0-3) whose outputs are returned, as a tuple.
        norm_cfg: Normalisation layer config.
        init_cfg: mmengine initialisation config.
    """

    # (output channels, number of depthwise-separable convs); the first is strided.
    arch_settings = ((128, 2), (256, 2), (512, 6), (1024, 2))

    def __init__(self,
                 widen_factor: float = 1.0,
                 out_indices: Sequence[int] = (3, ),
                 norm_cfg: dict = dict(type='BN'),
                 init_cfg: Optional[List[dict]] = CONV_BN_INIT_CFG) -> None:
        super().__init__(init_cfg)
        self.out_indices = checked_out_indices('MobileNetV1', out_indices, 4)
        stem_channels = int(32 * widen_factor)
        in_channels = int(64 * widen_factor)
        self.stem = nn.Sequential(
            ConvModule(3, stem_channels, 3, stride=2, padding=1, bias=False,
                       norm_cfg=norm_cfg),
            DepthwiseSeparableConvModule(
                stem_channels, in_channels, 3, padding=1, norm_cfg=norm_cfg))
        self.stages = nn.ModuleList()
        for channels, num_convs in self.arch_settings:
            out_channels = int(channels * widen_factor)
            convs = []
            for i in range(num_convs):
                convs.append(
                    DepthwiseSeparableConvModule(
                        in_channels, out_channels, 3, stride=2 if i == 0 else 1,
                        padding=1, norm_cfg=norm_cfg))
                in_channels = out_channels
            self.stages.append(nn.Sequential(*convs))

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        return stage_outputs(self.stem(x), self.stages, self.out_indices)
