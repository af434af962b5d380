# DKD (Zhao et al., CVPR 2022) with mmrazor's DKDLoss, ResNet-32x4 -> ResNet-8x4 on
# CIFAR-100, with the authors' CIFAR-100 setting (mdistiller CFG.DKD and
# configs/cifar100/dkd/res32x4_res8x4.yaml): alpha (TCKD) 1, beta (NCKD) 8,
# temperature 4, cross-entropy weight 1. One difference: mdistiller ramps the DKD
# weight linearly over the first 20 epochs; mmrazor's DKDLoss has no warm-up, so the
# full weight applies from the first iteration.
_base_ = ['./_base_/distill_resnet32x4_resnet8x4.py']

model = dict(
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            logits=_base_.logits_recorder, labels=_base_.labels_recorder),
        teacher_recorders=dict(logits=_base_.logits_recorder),
        distill_losses=dict(
            loss_dkd=dict(
                type='DKDLoss', tau=4, alpha=1, beta=8, loss_weight=1)),
        loss_forward_mappings=dict(
            loss_dkd=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits'),
                gt_labels=dict(
                    from_student=True, recorder='labels', data_idx=1)))))
