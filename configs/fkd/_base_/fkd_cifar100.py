# FKD on CIFAR-100 (He & Ozay, "Feature Kernel Distillation", ICLR 2022): the
# teacher's feature kernel of the penultimate features (global average pooling, `neck`)
# is the target of the student's, with the authors' two practical choices, the
# correlation (cosine) kernel and a feature regularisation of the student:
#     L = CE + lambda * FKDLoss(kernel='correlation', feature_reg_weight=1e-3)(z_S, z_T).
# The seed text gives no value for lambda; rather than guess one, lambda is set by
# GNoRP with the ratio the mAKD paper found for CIFAR-100 (r = 3.5), which also puts
# FKD and mAKD (configs/makd/) on the same footing. For a fixed weight, build the same
# model with type='SingleTeacherDistill', no `gnorp` key and FKDLoss's loss_weight.
# Training: the CRD settings (batch 64, SGD lr 0.05, momentum 0.9, weight decay 5e-4,
# 240 epochs, lr / 10 at 150, 180, 210). The teachers are trained with
# configs/rcka/cifar100/teachers/; a pair config sets architecture, teacher and
# teacher_ckpt.
_base_ = ['../../rcka/cifar100/_base_/distill_cifar100.py']

train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=0.05))
auto_scale_lr = dict(base_batch_size=64)

model = dict(
    type='GNoRPDistill',
    gnorp=dict(ratio=3.5, feature=dict(recorder='feat', data_idx=-1)),
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        distill_losses=dict(
            loss_fkd=dict(
                type='FKDLoss', kernel='correlation', feature_reg_weight=1e-3)),
        loss_forward_mappings=dict(
            loss_fkd=dict(
                preds_S=dict(from_student=True, recorder='feat', data_idx=-1),
                preds_T=dict(from_student=False, recorder='feat', data_idx=-1)))))
