# A relation loss on the pooled penultimate features (`neck`, recorder `feat`) of the toy
# ResNet-20 -> ResNet-8 pair, weighted the mAKD paper's way (Li & Maki, Sec. 4.1-4.2):
# GNoRPDistill sets lambda so that ||d(lambda L_KD)/dz|| = r ||dCE/dz|| at the
# penultimate features z. A child config adds its loss to `distill_losses` /
# `loss_forward_mappings` (with `_base_.pooled_features`) and picks the weighting:
#   - `gnorp_dynamic`: GNoRP proper, lambda re-adjusted every iteration (Adam on
#     log lambda, lr 1e-3), r = 3.5, the paper's CIFAR-100 ratio (Sec. 4.2);
#   - `gnorp_fixed`: the static lambda of the paper's variant comparison (Sec. 4.1):
#     chosen so that the initial gradient norms of the relation loss and the
#     cross-entropy are equal (r = 1, solved exactly on the first batch), then held.
#     GNoRPDistill needs lr > 0; at lr 1e-9 Adam moves log lambda by at most about
#     1e-9 per step, so lambda stays at its first-batch value. SP, CC, mAKD and FKD
#     without GNoRP use it: none of them has a published weight for this setting
#     (SP's 3000 and CC's 0.02 are CRD's, for other normalisations of the features),
#     and it puts every relation loss on the same footing, as the paper intends.
_base_ = ['./distill_resnet20_resnet8_shapes.py']

model = dict(
    type='GNoRPDistill',
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(feat=_base_.pooled_recorder),
        teacher_recorders=dict(feat=_base_.pooled_recorder)))

gnorp_feature = dict(recorder='feat', data_idx=-1)
gnorp_dynamic = dict(ratio=3.5, feature=gnorp_feature)
gnorp_fixed = dict(ratio=1.0, lr=1e-9, feature=gnorp_feature)
