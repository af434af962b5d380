# mAKD(CS, L2, SL1) with GNoRP, r = 3.5, on CIFAR-100 (Li & Maki, "Towards a Unified
# View of Affinity-Based Knowledge Distillation", Sec. 4.3 / 4.5): the student's
# penultimate features (global average pooling, `neck`) carry
#     L = CE + lambda * AffinityLoss(cs, l2, sl1)(z_S, z_T),
# lambda adjusted every iteration by GNoRPDistill so that
#     ||d(lambda L_mAKD)/dz|| = 3.5 ||dCE/dz||
# (logged as gnorp.lambda / gnorp.ratio). Training as in the paper (the CRD settings):
# batch 64, SGD lr 0.05 (0.01 for ShuffleNet / MobileNet students, set in their
# configs), momentum 0.9, weight decay 5e-4, 240 epochs, lr / 10 at 150, 180, 210.
# The teachers are trained with configs/rcka/cifar100/teachers/ (no OpenMMLab
# checkpoints exist for this model family); a pair config sets architecture, teacher
# and teacher_ckpt.
_base_ = ['../../_base_/distill/gnorp_neck_cifar100.py']

model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_makd=dict(
                type='AffinityLoss', affinity='cs', normalize='l2', loss='sl1')),
        loss_forward_mappings=dict(loss_makd=_base_.neck_features)))
