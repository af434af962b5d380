# FCKA alone (CE + 5 FCKA on the last backbone stage; Zhou et al., IJCAI 2024, Sec. 3.3,
# alpha = 5 from App. B), toy ResNet-20 -> ResNet-8 on "shapes": RCKA's feature term
# without its logit term (configs/rcka/shapes/rcka_resnet20_resnet8_1xb32_shapes.py).
_base_ = [
    './_base_/distill_resnet20_resnet8_shapes.py', '../../rcka/_base_/cka_distillers.py'
]

model = dict(distiller=_base_.cka_distillers.fcka)
