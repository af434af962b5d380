"""Registered into the OpenMMLab registries on import."""
from .mobilenet_v1 import MobileNetV1
from .mobilenet_v2_cifar import MobileNetV2CIFAR
from .resnet_cifar_6n2 import ResNetCIFAR6n2
from .shufflenet_v1_cifar import ShuffleNetV1CIFAR
from .shufflenet_v2_cifar import ShuffleNetV2CIFAR
from .vgg_cifar import VGGCIFAR
from .wide_resnet_cifar import WideResNetCIFAR

__all__ = [
    'MobileNetV1', 'MobileNetV2CIFAR', 'ResNetCIFAR6n2', 'ShuffleNetV1CIFAR',
    'ShuffleNetV2CIFAR', 'VGGCIFAR', 'WideResNetCIFAR'
]
