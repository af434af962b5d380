# mAKD(CS, L2, SL1), the paper's pick (Sec. 4.1), with the static lambda of the
# mAKD paper's variant comparison (initial gradient norms equal to the cross-entropy's;
# see the base), toy ResNet-20 -> ResNet-8 on "shapes", on the pooled penultimate
# features: L = CE + lambda * AffinityLoss('cs', 'l2', 'sl1').
_base_ = ['./_base_/affinity_fixed_resnet20_resnet8_shapes.py']

model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_affinity=dict(affinity='cs', normalize='l2', loss='sl1'))))
