# CIFAR-100 training as in the paper's App. B: batch 128 on one GPU, 240 epochs, SGD
# (momentum 0.9, weight decay 5e-4) from lr 0.1. The paper schedules the lr with ALRS
# (Chen et al., 2022), which mmengine does not have; we use the step schedule of the
# CRD code base that the methods compared in Tab. 1 were trained with (lr / 10 at
# epochs 150, 180 and 210). Students of the ShuffleNet / MobileNet family start from
# lr 0.01 (CRD's setting), set in their configs.
_base_ = [
    'mmpretrain::_base_/datasets/cifar100_bs16.py',
    'mmpretrain::_base_/default_runtime.py',
    './cifar100_classifiers.py',
]

custom_imports = dict(imports=['mmrazor_relkd'], allow_failed_imports=False)

train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=240, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)

default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
