# FKD on CIFAR-100 (He & Ozay, "Feature Kernel Distillation", ICLR 2022): the
# teacher's feature kernel of the penultimate features (global average pooling, `neck`)
# is the target of the student's, with the authors' two practical choices, the
# correlation (cosine) kernel and a feature regularisation of the student:
#     L = CE + lambda * FKDLoss(kernel='correlation', feature_reg_weight=1e-3)(z_S, z_T).
# The seed text gives no value for lambda; rather than guess one, lambda is set by
# GNoRP with the ratio the mAKD paper found for CIFAR-100 (r = 3.5), which also puts
# FKD and mAKD (configs/makd/) on the same footing. For a fixed weight, build the same
# model with type='SingleTeacherDistill', no `gnorp` key and FKDLoss's loss_weight.
# Training: the CRD settings (see the base). The teachers are trained with
# configs/rcka/cifar100/teachers/.
_base_ = ['../../_base_/distill/gnorp_neck_cifar100.py']

model = dict(
    distiller=dict(
        distill_losses=dict(
            loss_fkd=dict(
                type='FKDLoss', kernel='correlation', feature_reg_weight=1e-3)),
        loss_forward_mappings=dict(loss_fkd=_base_.neck_features)))
