# CIFAR-100 training of the CRD code base (Tian et al., ICLR 2020), which the methods
# compared in the RCKA paper's Tab. 1 and the FKD / mAKD configs use: batch 128 on one
# GPU, 240 epochs, SGD (momentum 0.9, weight decay 5e-4) from lr 0.1, lr / 10 at epochs
# 150, 180 and 210, random crop (padding 4) and flip. The RCKA recipe changes it to the
# authors' released training code in ./rcka_cifar100_240e.py.
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
train_cfg = dict(type='ExactResumeEpochBasedTrainLoop', max_epochs=240, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# The lr is for one GPU x 128 images; `tools/train.py --auto-scale-lr` scales it
# linearly with another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=128)

default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
