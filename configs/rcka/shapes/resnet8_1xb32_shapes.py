# The student of the toy classification pair trained alone: ResNet-8 (CIFAR-style)
# on "shapes", the baseline for rcka_resnet20_resnet8_1xb32_shapes.py.
_base_ = ['./_base_/shapes_cls_4e.py']

model = _base_.shapes_classifiers.resnet8
