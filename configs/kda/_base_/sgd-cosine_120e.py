# The schedule of the KDA paper (Qian et al., SDM 2022, Sec. 4) as the authors' released
# code runs it (idstcv/KDA main_kda.py, `adjust_learning_rate`): 120 epochs of SGD
# (momentum 0.9, weight decay 5e-4) from lr 0.1 for a total batch of 256 (two GPUs x
# 128), set before every iteration t (N iterations per epoch):
# - epochs 0-4: linear warm-up, lr * max(1, t) / (5 N). mmengine's LinearLR below rises
#   linearly from lr * 0.001 to lr over the same 5 epochs (the code starts at lr / (5 N),
#   about lr * 0.001 for CIFAR-100's 196 iterations per epoch);
# - epochs 5-119: cosine decay from lr to 0 over the remaining 115 epochs, per iteration.
# The paper: "cosine decay is adopted with H = 5 epochs for warm-up"; the same H = 5 is
# the KDA loss warm-up of its Alg. 1 (KDALoss warmup_epochs=5).
_base_ = ['mmpretrain::_base_/default_runtime.py']

optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.001,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=115,
        eta_min=0.0,
        by_epoch=True,
        begin=5,
        end=120,
        convert_to_iter_based=True),
]
train_cfg = dict(type='ExactResumeEpochBasedTrainLoop', max_epochs=120, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# The lr is for 2 GPUs x 128 images; `tools/train.py --auto-scale-lr` scales it linearly
# with another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=256)

default_hooks = dict(checkpoint=dict(interval=10, max_keep_ckpts=3))
