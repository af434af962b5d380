# The schedule of the KDA paper (Qian et al., SDM 2022, Sec. 4): 120 epochs of SGD
# (momentum 0.9, weight decay 5e-4) from lr 0.1 with cosine decay, for a total batch of
# 256 (two GPUs x 128). The paper's "H = 5 epochs for warm-up" is the KDA warm-up of its
# Alg. 1 (KDALoss warmup_epochs=5); the learning rate has no warm-up.
_base_ = ['mmpretrain::_base_/default_runtime.py']

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = dict(type='CosineAnnealingLR', by_epoch=True, T_max=120)
train_cfg = dict(by_epoch=True, max_epochs=120, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)

default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
