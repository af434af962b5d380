# RCKA + GNoRP, toy ResNet-20 -> ResNet-8 on "shapes": the toy RCKA config
# (configs/rcka/shapes/rcka_resnet20_resnet8_1xb32_shapes.py: 5 FCKA + 5 (intra +
# inter) LCKA on logits softened with tau = 4), the sum of its losses weighted by GNoRP
# with the mAKD paper's CIFAR-100 ratio r = 3.5 (Li & Maki, Sec. 4.2). The gradient
# norms are taken at the last backbone stage (RCKA's feature recorder `feat`), the map
# the pooled penultimate features are averaged from.
_base_ = ['../../rcka/shapes/rcka_resnet20_resnet8_1xb32_shapes.py']

model = dict(
    type='GNoRPDistill',
    gnorp=dict(ratio=3.5, feature=dict(recorder='feat', data_idx=-1)))
