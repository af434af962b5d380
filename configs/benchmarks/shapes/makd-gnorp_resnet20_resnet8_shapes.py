# mAKD(CS, L2, SL1) + GNoRP, r = 3.5 (Li & Maki, Sec. 4.3 / 4.5; the recipe of
# configs/makd/ on CIFAR-100), toy ResNet-20 -> ResNet-8 on "shapes", on the pooled
# penultimate features. Unchanged for the toy.
_base_ = ['./_base_/gnorp_pooled_resnet20_resnet8_shapes.py']

model = dict(
    gnorp=_base_.gnorp_dynamic,
    distiller=dict(
        distill_losses=dict(
            loss_makd=dict(
                type='AffinityLoss', affinity='cs', normalize='l2', loss='sl1')),
        loss_forward_mappings=dict(loss_makd=_base_.pooled_features)))
