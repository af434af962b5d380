# DKD (Zhao et al., CVPR 2022) with mmrazor's DKDLoss, toy ResNet-20 -> ResNet-8 on
# "shapes", with the authors' CIFAR-100 setting (mdistiller CFG.DKD and
# configs/cifar100/dkd/res32x4_res8x4.yaml): alpha (TCKD) 1, beta (NCKD) 8, temperature
# 4, cross-entropy weight 1. As in the CIFAR-100 suite, mmrazor's DKDLoss has no
# warm-up (mdistiller ramps the weight over the first 20 of 240 epochs), so the full
# weight applies from the first iteration. Unchanged for the toy.
_base_ = ['./_base_/distill_resnet20_resnet8_shapes.py']

model = dict(
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            logits=_base_.logits_recorder, labels=_base_.labels_recorder),
        teacher_recorders=dict(logits=_base_.logits_recorder),
        distill_losses=dict(
            loss_dkd=dict(type='DKDLoss', tau=4, alpha=1, beta=8, loss_weight=1)),
        loss_forward_mappings=dict(
            loss_dkd=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits'),
                gt_labels=dict(from_student=True, recorder='labels', data_idx=1)))))
