"""The thin 3-stage CIFAR ResNets (ResNet-20/32/56/110, ResNet-8x4/32x4)."""
from typing import Sequence

from mmpretrain.models.backbones.resnet import BasicBlock
from mmpretrain.models.backbones.resnet_cifar import ResNet_CIFAR
from mmpretrain.registry import MODELS

_MAX_BLOCKS_PER_STAGE = 200


@MODELS.register_module()
class ResNetCIFAR6n2(ResNet_CIFAR):
    """The 6n+2-layer CIFAR ResNet of He et al. (2016, Sec. 4.2).

    A 3x3 stem conv and three stages of ``n = (depth - 2) / 6`` basic blocks each
    (strides 1, 2, 2, channels ``base_channels * (1, 2, 4)``), as in the CIFAR model
    family of distillation work (CRD code base, Tian et al., ICLR 2020): shortcuts
    are 1x1 conv + BN projections wherever the shape changes (He et al.'s option B).
    This is not mmpretrain's ``ResNet_CIFAR``, which is the 4-stage ImageNet ResNet
    (64-512 channels) with a CIFAR stem; it reuses its blocks and stem.

    Presets of the distillation literature (``depth``, ``stem_channels``,
    ``base_channels``): ResNet-20/32/56/110 = (20/32/56/110, 16, 16),
    ResNet-8x4 = (8, 32, 64), ResNet-32x4 = (32, 32, 64).

    Args:
        depth: ``6n + 2`` for ``n >= 1``.
        stem_channels: Output channels of the stem conv.
        base_channels: Channels of the first stage; they double per stage.
        out_indices: Stages (0, 1, 2) whose outputs are returned, as a tuple.
        zero_init_residual: Zero-init the last BN of each block (off in the
            reference code, so off by default).
        **kwargs: Any other argument of mmpretrain's ``ResNet`` (``norm_cfg``,
            ``frozen_stages``, ``norm_eval``, ``init_cfg``...).
    """

    arch_settings = {
        6 * n + 2: (BasicBlock, (n, n, n))
        for n in range(1, _MAX_BLOCKS_PER_STAGE + 1)
    }

    def __init__(self,
                 depth: int,
                 stem_channels: int = 16,
                 base_channels: int = 16,
                 out_indices: Sequence[int] = (2, ),
                 zero_init_residual: bool = False,
                 **kwargs) -> None:
        if depth not in self.arch_settings:
            raise ValueError(
                f'ResNetCIFAR6n2 needs depth = 6n + 2 with 1 <= n <= '
                f'{_MAX_BLOCKS_PER_STAGE} (e.g. 20, 32, 56, 110), got {depth}; '
                'for the 18/34/50-layer CIFAR ResNets use mmpretrain\'s '
                'ResNet_CIFAR.')
        super().__init__(
            depth,
            stem_channels=stem_channels,
            base_channels=base_channels,
            num_stages=3,
            strides=(1, 2, 2),
            dilations=(1, 1, 1),
            out_indices=out_indices,
            zero_init_residual=zero_init_residual,
            **kwargs)
