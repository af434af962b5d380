# KD (Hinton et al., 2015) with mmrazor's KLDivergence, ResNet-32x4 -> ResNet-8x4 on
# CIFAR-100. Settings of the CRD benchmark that the CIFAR-100 KD numbers of the RCKA,
# DKD and mAKD papers come from (CRD's train_student.py `--distill kd -r 0.1 -a 0.9`,
# also mdistiller's CFG.KD): temperature 4, 0.9 KL (times tau^2, as KLDivergence does),
# 0.1 cross-entropy.
_base_ = ['./_base_/distill_resnet32x4_resnet8x4.py']

model = dict(
    architecture=dict(head=dict(loss=dict(loss_weight=0.1))),
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(logits=_base_.logits_recorder),
        teacher_recorders=dict(logits=_base_.logits_recorder),
        distill_losses=dict(
            loss_kd=dict(type='KLDivergence', tau=4, loss_weight=0.9)),
        loss_forward_mappings=dict(
            loss_kd=dict(
                preds_S=dict(from_student=True, recorder='logits'),
                preds_T=dict(from_student=False, recorder='logits')))))
