# FKD across label spaces on the embedded shapes dataset (He & Ozay, Tab. 1: teacher
# and student trained on different datasets). The teachers are mmpretrain's CIFAR-10
# ResNets (10 classes, public checkpoints); the student, a CIFAR ResNet-20, learns the
# 4 shape classes. Plain KD compares logits and cannot be used (10 vs 4 classes); the
# B x B feature kernel of the penultimate features can. `TeacherEnsemble` runs the
# teachers for their features only, so they never see the student's labels.
#     L = CE + lambda * FKDLoss(kernel='correlation', feature_reg_weight=1e-3),
# lambda by GNoRP with the uninformative prior r = 1 (Li & Maki, Sec. 5). A config
# sets `model.teacher.teachers` / `checkpoints`.
_base_ = [
    '../../_base_/datasets/shapes_classification.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(imports=['mmrazor_relkd'], allow_failed_imports=False)

# the CIFAR-10 ResNets of mmpretrain (94.82 / 95.34 top-1 on CIFAR-10)
cifar10_resnet18 = dict(
    cfg_path='mmpretrain::resnet/resnet18_8xb16_cifar10.py', pretrained=False)
cifar10_resnet18_ckpt = (
    'https://download.openmmlab.com/mmclassification/v0/resnet/'
    'resnet18_b16x8_cifar10_20210528-bd6371c8.pth')
cifar10_resnet34 = dict(
    cfg_path='mmpretrain::resnet/resnet34_8xb16_cifar10.py', pretrained=False)
cifar10_resnet34_ckpt = (
    'https://download.openmmlab.com/mmclassification/v0/resnet/'
    'resnet34_b16x8_cifar10_20210528-a8aa36a6.pth')

model = dict(
    _scope_='mmrazor',
    type='GNoRPDistill',
    data_preprocessor=dict(
        _base_.data_preprocessor, type='mmpretrain.ClsDataPreprocessor'),
    architecture=dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='ResNetCIFAR6n2', depth=20),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=_base_.num_classes,
            in_channels=64,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0))),
    teacher=dict(type='TeacherEnsemble'),
    gnorp=dict(ratio=1.0, feature=dict(recorder='feat', data_idx=-1)),
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        # source='' records the ensemble's output: one feature tensor per teacher
        teacher_recorders=dict(feats=dict(type='ModuleOutputs', source='')),
        distill_losses=dict(
            loss_fkd=dict(
                type='FKDLoss', kernel='correlation', feature_reg_weight=1e-3)),
        loss_forward_mappings=dict(
            loss_fkd=dict(
                preds_S=dict(from_student=True, recorder='feat', data_idx=-1),
                preds_T=dict(from_student=False, recorder='feats')))))
find_unused_parameters = True

# 512 training images: 60 epochs of 16 iterations, cosine schedule
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, T_max=60)
train_cfg = dict(type='ExactResumeEpochBasedTrainLoop', max_epochs=60, val_interval=5)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=2))
