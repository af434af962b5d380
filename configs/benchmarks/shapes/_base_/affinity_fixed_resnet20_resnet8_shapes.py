# One point of the mAKD grid (AffinityLoss on the pooled features) with the fixed-lambda
# protocol of gnorp_pooled_resnet20_resnet8_shapes.py; a method config sets the loss's
# `affinity`, `normalize` and `loss`.
_base_ = ['./gnorp_pooled_resnet20_resnet8_shapes.py']

model = dict(
    gnorp=_base_.gnorp_fixed,
    distiller=dict(
        distill_losses=dict(loss_affinity=dict(type='AffinityLoss')),
        loss_forward_mappings=dict(loss_affinity=_base_.pooled_features)))
