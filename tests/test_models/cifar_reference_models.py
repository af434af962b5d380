"""Plain PyTorch transcriptions of the reference networks, for the backbone tests.

The CIFAR networks follow the model files of the CRD code base (Tian et al., ICLR
2020: ``resnet.py``, ``wrn.py``, ``vgg.py``, ``ShuffleNetv1.py``, ``mobilenetv2.py``)
and MobileNet V1 the ImageNet ``MobileNet`` used by the CRD / ReviewKD ImageNet
experiments, written as literally as possible: layer by layer, in the order the
originals register their parameters, each returning ``(last feature map, logits)``.
The package's backbones get these networks' weights copied in registration order and
must reproduce their feature maps.
"""
from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor


class ResNetBasicBlock(nn.Module):

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module = None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x: Tensor) -> Tensor:
        residual = x
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            residual = self.downsample(x)
        return F.relu(out + residual)


class ResNet(nn.Module):
    """``resnet.py``: ``ResNet(depth, num_filters)``, e.g. resnet8x4 = (8, [32, 64,
    128, 256])."""

    def __init__(self, depth: int, num_filters: List[int],
                 num_classes: int = 100) -> None:
        super().__init__()
        n = (depth - 2) // 6
        self.inplanes = num_filters[0]
        self.conv1 = nn.Conv2d(3, num_filters[0], 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(num_filters[0])
        self.layer1 = self._make_layer(num_filters[1], n, 1)
        self.layer2 = self._make_layer(num_filters[2], n, 2)
        self.layer3 = self._make_layer(num_filters[3], n, 2)
        self.fc = nn.Linear(num_filters[3], num_classes)

    def _make_layer(self, planes: int, blocks: int, stride: int) -> nn.Module:
        downsample = None
        if stride != 1 or self.inplanes != planes:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes, 1, stride, bias=False),
                nn.BatchNorm2d(planes))
        layers = [ResNetBasicBlock(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes
        for _ in range(1, blocks):
            layers.append(ResNetBasicBlock(self.inplanes, planes))
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        x = F.relu(self.bn1(self.conv1(x)))
        feat = self.layer3(self.layer2(self.layer1(x)))
        return feat, self.fc(F.avg_pool2d(feat, 8).flatten(1))


class WRNBasicBlock(nn.Module):

    def __init__(self, in_planes: int, out_planes: int, stride: int) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, out_planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.conv2 = nn.Conv2d(out_planes, out_planes, 3, 1, 1, bias=False)
        self.equal_in_out = in_planes == out_planes
        self.conv_shortcut = None if self.equal_in_out else nn.Conv2d(
            in_planes, out_planes, 1, stride, 0, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        if not self.equal_in_out:
            x = F.relu(self.bn1(x))
            out = x
        else:
            out = F.relu(self.bn1(x))
        out = F.relu(self.bn2(self.conv1(out)))
        out = self.conv2(out)
        return (x if self.equal_in_out else self.conv_shortcut(x)) + out


class WideResNet(nn.Module):
    """``wrn.py``: ``WideResNet(depth, num_classes, widen_factor)``."""

    def __init__(self, depth: int, widen_factor: int,
                 num_classes: int = 100) -> None:
        super().__init__()
        channels = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        n = (depth - 4) // 6
        self.conv1 = nn.Conv2d(3, channels[0], 3, 1, 1, bias=False)
        self.block1 = self._block(n, channels[0], channels[1], 1)
        self.block2 = self._block(n, channels[1], channels[2], 2)
        self.block3 = self._block(n, channels[2], channels[3], 2)
        self.bn1 = nn.BatchNorm2d(channels[3])
        self.fc = nn.Linear(channels[3], num_classes)

    @staticmethod
    def _block(n: int, in_planes: int, out_planes: int, stride: int) -> nn.Module:
        return nn.Sequential(*[
            WRNBasicBlock(in_planes if i == 0 else out_planes, out_planes,
                          stride if i == 0 else 1) for i in range(n)
        ])

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        out = self.block3(self.block2(self.block1(self.conv1(x))))
        feat = F.relu(self.bn1(out))
        return feat, self.fc(F.avg_pool2d(feat, 8).flatten(1))


class VGG(nn.Module):
    """``vgg.py`` with ``batch_norm=True``: cfg 'S' (vgg8) and 'B' (vgg13)."""

    cfg = {
        8: [[64], [128], [256], [512], [512]],
        13: [[64, 64], [128, 128], [256, 256], [512, 512], [512, 512]],
    }

    def __init__(self, depth: int, num_classes: int = 100) -> None:
        super().__init__()
        cfg = self.cfg[depth]
        self.block0 = self._make_layers(cfg[0], 3)
        self.block1 = self._make_layers(cfg[1], cfg[0][-1])
        self.block2 = self._make_layers(cfg[2], cfg[1][-1])
        self.block3 = self._make_layers(cfg[3], cfg[2][-1])
        self.block4 = self._make_layers(cfg[4], cfg[3][-1])
        self.classifier = nn.Linear(512, num_classes)

    @staticmethod
    def _make_layers(cfg: List[int], in_channels: int) -> nn.Module:
        layers = []
        for v in cfg:
            layers += [
                nn.Conv2d(in_channels, v, kernel_size=3, padding=1),
                nn.BatchNorm2d(v),
                nn.ReLU()
            ]
            in_channels = v
        return nn.Sequential(*layers[:-1])

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        x = F.max_pool2d(F.relu(self.block0(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.block1(x)), 2, 2)
        x = F.max_pool2d(F.relu(self.block2(x)), 2, 2)
        x = F.relu(self.block3(x))
        feat = F.relu(self.block4(x))
        return feat, self.classifier(F.adaptive_avg_pool2d(feat, 1).flatten(1))


class ShuffleBottleneck(nn.Module):

    def __init__(self, in_planes: int, out_planes: int, stride: int,
                 groups: int) -> None:
        super().__init__()
        self.stride = stride
        mid_planes = int(out_planes / 4)
        g = 1 if in_planes == 24 else groups
        self.g = g
        self.conv1 = nn.Conv2d(in_planes, mid_planes, 1, groups=g, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_planes)
        self.conv2 = nn.Conv2d(mid_planes, mid_planes, 3, stride=stride,
                               padding=1, groups=mid_planes, bias=False)
        self.bn2 = nn.BatchNorm2d(mid_planes)
        self.conv3 = nn.Conv2d(mid_planes, out_planes, 1, groups=groups,
                               bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)

    def forward(self, x: Tensor) -> Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        n, c, h, w = out.shape
        out = out.view(n, self.g, c // self.g, h, w).permute(0, 2, 1, 3, 4)
        out = out.reshape(n, c, h, w)
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.stride == 2:
            return F.relu(torch.cat([out, F.avg_pool2d(x, 3, 2, 1)], 1))
        return F.relu(out + x)


class ShuffleNetV1(nn.Module):
    """``ShuffleNetv1.py``: ``ShuffleV1`` = out_planes (240, 480, 960), blocks
    (4, 8, 4), groups 3."""

    def __init__(self, num_classes: int = 100) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 24, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(24)
        self.in_planes = 24
        self.layer1 = self._make_layer(240, 4, 3)
        self.layer2 = self._make_layer(480, 8, 3)
        self.layer3 = self._make_layer(960, 4, 3)
        self.linear = nn.Linear(960, num_classes)

    def _make_layer(self, out_planes: int, num_blocks: int,
                    groups: int) -> nn.Module:
        layers = []
        for i in range(num_blocks):
            stride = 2 if i == 0 else 1
            cat_planes = self.in_planes if i == 0 else 0
            layers.append(
                ShuffleBottleneck(self.in_planes, out_planes - cat_planes,
                                  stride, groups))
            self.in_planes = out_planes
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        out = F.relu(self.bn1(self.conv1(x)))
        feat = self.layer3(self.layer2(self.layer1(out)))
        return feat, self.linear(F.avg_pool2d(feat, 4).flatten(1))


def conv_bn(inp: int, oup: int, stride: int) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup),
        nn.ReLU())


class InvertedResidual(nn.Module):

    def __init__(self, inp: int, oup: int, stride: int,
                 expand_ratio: int) -> None:
        super().__init__()
        self.use_res_connect = stride == 1 and inp == oup
        self.conv = nn.Sequential(
            nn.Conv2d(inp, inp * expand_ratio, 1, 1, 0, bias=False),
            nn.BatchNorm2d(inp * expand_ratio),
            nn.ReLU(),
            nn.Conv2d(inp * expand_ratio, inp * expand_ratio, 3, stride, 1,
                      groups=inp * expand_ratio, bias=False),
            nn.BatchNorm2d(inp * expand_ratio),
            nn.ReLU(),
            nn.Conv2d(inp * expand_ratio, oup, 1, 1, 0, bias=False),
            nn.BatchNorm2d(oup),
        )

    def forward(self, x: Tensor) -> Tensor:
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    """``mobilenetv2.py``: ``mobile_half`` = ``MobileNetV2(T=6, feature_dim=100,
    width_mult=0.5)``."""

    def __init__(self, T: int = 6, feature_dim: int = 100,
                 width_mult: float = 0.5) -> None:
        super().__init__()
        setting = [[1, 16, 1, 1], [T, 24, 2, 1], [T, 32, 3, 2], [T, 64, 4, 2],
                   [T, 96, 3, 1], [T, 160, 3, 2], [T, 320, 1, 1]]
        input_channel = int(32 * width_mult)
        self.conv1 = conv_bn(3, input_channel, 2)
        self.blocks = nn.ModuleList([])
        for t, c, n, s in setting:
            output_channel = int(c * width_mult)
            layers = []
            for stride in [s] + [1] * (n - 1):
                layers.append(
                    InvertedResidual(input_channel, output_channel, stride, t))
                input_channel = output_channel
            self.blocks.append(nn.Sequential(*layers))
        self.last_channel = int(1280 * width_mult) if width_mult > 1.0 else 1280
        self.conv2 = nn.Sequential(
            nn.Conv2d(input_channel, self.last_channel, 1, 1, 0, bias=False),
            nn.BatchNorm2d(self.last_channel), nn.ReLU())
        self.classifier = nn.Sequential(nn.Linear(self.last_channel,
                                                  feature_dim))

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        out = self.conv1(x)
        for block in self.blocks:
            out = block(out)
        feat = self.conv2(out)
        pooled = F.avg_pool2d(feat, 2, ceil_mode=True).flatten(1)
        return feat, self.classifier(pooled)


class MobileNetV1(nn.Module):
    """The ImageNet ``MobileNet`` (V1) of the CRD / ReviewKD ImageNet experiments."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()

        def conv_dw(inp: int, oup: int, stride: int) -> nn.Module:
            return nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False),
                nn.BatchNorm2d(inp), nn.ReLU(),
                nn.Conv2d(inp, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup),
                nn.ReLU())

        self.model = nn.Sequential(
            conv_bn(3, 32, 2), conv_dw(32, 64, 1), conv_dw(64, 128, 2),
            conv_dw(128, 128, 1), conv_dw(128, 256, 2), conv_dw(256, 256, 1),
            conv_dw(256, 512, 2), conv_dw(512, 512, 1), conv_dw(512, 512, 1),
            conv_dw(512, 512, 1), conv_dw(512, 512, 1), conv_dw(512, 512, 1),
            conv_dw(512, 1024, 2), conv_dw(1024, 1024, 1))
        self.fc = nn.Linear(1024, num_classes)

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        feat = self.model(x)
        return feat, self.fc(F.adaptive_avg_pool2d(feat, 1).flatten(1))
