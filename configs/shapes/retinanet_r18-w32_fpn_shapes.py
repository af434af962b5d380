# Student of the embedded demo: RetinaNet with a half-width ResNet-18 (32 base channels)
# on "shapes"; its FPN has the teacher's 64 channels, so PCKA needs no connector.
_base_ = ['./_base_/retinanet_fpn_shapes.py']
model = dict(
    backbone=dict(depth=18, base_channels=32),
    neck=dict(in_channels=[32, 64, 128, 256]))
