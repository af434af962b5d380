# Teacher of the embedded demo: RetinaNet with a ResNet-34 backbone on "shapes".
_base_ = ['./_base_/retinanet_fpn_shapes.py']
model = {{_base_.teacher_model}}
