# CIFAR-100 as in the KDA paper (Sec. 4.1): 32 x 32 images padded to 40 x 40 and
# randomly cropped back, random horizontal flip (mmpretrain's CIFAR-100 pipeline);
# 128 images per GPU, two GPUs.
_base_ = ['mmpretrain::_base_/datasets/cifar100_bs16.py']

train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
