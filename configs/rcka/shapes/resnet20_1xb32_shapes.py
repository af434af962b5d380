# The teacher of the toy classification pair: ResNet-20 (CIFAR-style) on "shapes".
_base_ = ['./_base_/shapes_cls_4e.py']

model = _base_.shapes_classifiers.resnet20
