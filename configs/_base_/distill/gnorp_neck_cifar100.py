# Shared by the FKD and mAKD CIFAR-100 configs: a relation loss on the penultimate
# features (global average pooling, `neck`, recorder `feat`) weighted by GNoRP with the
# ratio the mAKD paper found for CIFAR-100 (r = 3.5), with the CRD training settings
# (batch 64, SGD lr 0.05, momentum 0.9, weight decay 5e-4, 240 epochs, lr / 10 at 150,
# 180, 210). A child config adds its loss to `distill_losses` /
# `loss_forward_mappings`; a pair config sets architecture, teacher and teacher_ckpt.
_base_ = ['../../rcka/cifar100/_base_/cifar100_bs128_240e.py']

train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=0.05))
# The lr is for one GPU x 64 images; `tools/train.py --auto-scale-lr` scales it
# linearly with another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=64)

model = dict(
    _scope_='mmrazor',
    type='GNoRPDistill',
    data_preprocessor=dict(
        _base_.data_preprocessor, type='mmpretrain.ClsDataPreprocessor'),
    gnorp=dict(ratio=3.5, feature=dict(recorder='feat', data_idx=-1)),
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck'))))

# preds_S / preds_T of a loss on the recorded penultimate features
neck_features = dict(
    preds_S=dict(from_student=True, recorder='feat', data_idx=-1),
    preds_T=dict(from_student=False, recorder='feat', data_idx=-1))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
