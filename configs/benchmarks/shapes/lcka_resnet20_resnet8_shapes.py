# LCKA alone (CE + 5 (intra + inter) LCKA on the logits; Zhou et al., IJCAI 2024,
# Sec. 3.3, beta = 5 from App. B), toy ResNet-20 -> ResNet-8 on "shapes": RCKA's logit
# term without its feature term. Toy adaptation, as in the toy RCKA config
# (configs/rcka/shapes/rcka_resnet20_resnet8_1xb32_shapes.py, which explains it): the
# logits are softened with softmax(z / 4) first (`tau=4`), since with few classes the
# raw-logit alignment's gradient dwarfs the cross-entropy's on a fresh student.
_base_ = [
    './_base_/distill_resnet20_resnet8_shapes.py', '../../rcka/_base_/cka_distillers.py'
]

model = dict(
    distiller=dict(
        _base_.cka_distillers.lcka,
        distill_losses=dict(
            loss_lcka=dict(type='LCKALoss', loss_weight=5.0, inter_weight=5.0, tau=4.0))))
