# DIST (Huang et al., NeurIPS 2022) with mmrazor's DISTLoss, toy ResNet-20 -> ResNet-8
# on "shapes". Weights of mmrazor's DIST config
# (configs/distill/mmcls/dist/dist_logits_resnet34_resnet18_8xb32_in1k.py): inter and
# intra relation 1 each, temperature 1, loss weight 2, cross-entropy weight 1 (mmrazor
# ships no CIFAR setting). Unchanged for the toy.
_base_ = ['./_base_/distill_resnet20_resnet8_shapes.py']

model = dict(
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(logits=_base_.logits_recorder),
        teacher_recorders=dict(logits=_base_.logits_recorder),
        distill_losses=dict(
            loss_dist=dict(
                type='DISTLoss',
                inter_loss_weight=1.0,
                intra_loss_weight=1.0,
                tau=1,
                loss_weight=2)),
        loss_forward_mappings=dict(
            loss_dist=dict(
                logits_S=dict(from_student=True, recorder='logits'),
                logits_T=dict(from_student=False, recorder='logits')))))
