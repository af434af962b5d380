# FKD (He & Ozay, ICLR 2022), toy ResNet-20 -> ResNet-8 on "shapes": the teacher's
# correlation kernel of the pooled penultimate features as the target of the student's,
# with the feature regularisation 1e-3 of configs/fkd/. The paper gives no weight for
# the kernel term; it gets the static lambda of the mAKD paper's comparison (initial
# gradient norm equal to the cross-entropy's; see the base), like the affinity losses.
_base_ = ['./_base_/gnorp_pooled_resnet20_resnet8_shapes.py']

model = dict(
    gnorp=_base_.gnorp_fixed,
    distiller=dict(
        distill_losses=dict(
            loss_fkd=dict(
                type='FKDLoss', kernel='correlation', feature_reg_weight=1e-3)),
        loss_forward_mappings=dict(loss_fkd=_base_.pooled_features)))
