# CC with the bilinear kernel (Peng et al., ICCV 2019) as the mAKD grid point
# (ip, none, l2), with the static lambda of the mAKD paper's variant
# comparison (initial gradient norm equal to the cross-entropy's; see the base), toy
# ResNet-20 -> ResNet-8 on "shapes", on the pooled penultimate features:
# L = CE + lambda * AffinityLoss('ip', 'none', 'l2').
_base_ = ['./_base_/affinity_fixed_resnet20_resnet8_shapes.py']

model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_affinity=dict(affinity='ip', normalize='none', loss='l2'))))
