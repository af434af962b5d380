# Student of the embedded demo: RetinaNet with a half-width ResNet-18 (32 base channels)
# on "shapes"; its FPN has the teacher's 64 channels, so PCKA needs no connector.
_base_ = ['./_base_/retinanet_fpn_shapes.py']
model = {{_base_.student_model}}
