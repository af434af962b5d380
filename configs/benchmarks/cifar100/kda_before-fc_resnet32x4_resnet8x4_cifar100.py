# KDA before the last FC layer (Qian et al., SDM 2022), ResNet-32x4 -> ResNet-8x4 on
# CIFAR-100: the KDALoss of configs/kda/ (weight 0.04, 5 warm-up epochs, one class-mean
# landmark per class, updated by KDALandmarkHook after each epoch) on the 256-d pooled
# features of both networks. configs/kda/ ships this loss for the paper's ResNet-34
# teacher only; the pair and its training schedule here are the suite's.
_base_ = ['./_base_/distill_resnet32x4_resnet8x4.py']

model = dict(
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(
            fc_inputs=dict(type='ModuleInputs', source='head.fc'),
            labels=_base_.labels_recorder),
        teacher_recorders=dict(
            fc_inputs=dict(type='ModuleInputs', source='head.fc')),
        distill_losses=dict(
            loss_kda_before_fc=dict(
                type='KDALoss',
                num_classes=100,
                student_channels=256,
                teacher_channels=256,
                loss_weight=0.04,
                warmup_epochs=5)),
        loss_forward_mappings=dict(
            loss_kda_before_fc=dict(
                preds_S=dict(from_student=True, recorder='fc_inputs', data_idx=0),
                preds_T=dict(
                    from_student=False, recorder='fc_inputs', data_idx=0),
                gt_labels=dict(
                    from_student=True, recorder='labels', data_idx=1)))))

custom_hooks = [dict(type='KDALandmarkHook')]
