# The RCKA paper's CIFAR-100 training as the authors' released code runs it
# (Klayand/Distill_Knowledge: icme_main.py, Solver.py, optimizer/default_optimizer.py,
# scheduler/ALRS.py; paper App. B). Policy and provenance table: docs/recipes.md.
# - batch 128, 240 epochs, SGD lr 0.1, momentum 0.9, weight decay 5e-4: code and paper.
# - Nesterov momentum: code (`nesterov=True`); the paper does not say.
# - lr schedule ALRS (code and paper): linear warm-up over 30 epochs, then lr x 0.97
#   after every epoch whose mean training loss fell by less than 0.01 (absolute and
#   relative): mmrazor_relkd's ALRSLR.
# - augmentation (code; the paper does not say): horizontal flip, ColorJitter(0.1, 0.1,
#   0.1, 0.1), AutoAugment (CIFAR-10 policy), RandomRotation(5), no random crop.
#   Flip, ColorJitter and the rotation are torchvision's (mmpretrain's wrappers), the
#   AutoAugment policy is written out for mmpretrain in ./autoaugment_cifar10.py.
_base_ = ['./cifar100_bs128_240e.py', './autoaugment_cifar10.py']

optim_wrapper = dict(optimizer=dict(nesterov=True))
param_scheduler = dict(
    _delete_=True,
    type='ALRSLR',
    warmup_epochs=30,
    decay=0.97,
    abs_threshold=0.01,
    rel_threshold=0.01)

train_pipeline = [
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='NumpyToPIL', to_rgb=False),
    dict(
        type='torchvision/ColorJitter',
        brightness=0.1,
        contrast=0.1,
        saturation=0.1,
        hue=0.1),
    dict(type='PILToNumpy', to_bgr=True),  # mmpretrain's operations expect BGR
    _base_.autoaugment_cifar10,
    dict(type='NumpyToPIL', to_rgb=True),
    dict(type='torchvision/RandomRotation', degrees=5),
    dict(type='PILToNumpy', to_bgr=False),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
