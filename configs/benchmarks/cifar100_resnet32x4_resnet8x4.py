# Benchmark suite: ResNet-32x4 -> ResNet-8x4 on CIFAR-100 (the RCKA paper's Tab. 1
# pair), every method against the plain student over the same seeds. Run with
# tools/analysis/compare_methods.py (format: configs/benchmarks/README.md); CIFAR-100
# goes to data/cifar100/ (mmpretrain's CIFAR100 dataset, python version).
#
# Training budget, the same for the student and every method (`cfg_options` below):
# 240 epochs, SGD momentum 0.9, weight decay 5e-4, lr / 10 at epochs 150, 180 and 210
# (configs/rcka/cifar100/_base_/cifar100_bs128_240e.py), batch 64 with lr 0.05 on one
# GPU: the CRD benchmark's setting, in which the KD, DKD, RKD, FKD and mAKD CIFAR-100
# numbers were reported (mdistiller CFG.SOLVER; configs/fkd, configs/makd). The RCKA
# paper trains with batch 128 and lr 0.1, the same lr per sample. The teacher is
# trained once with its own config (batch 128, lr 0.1, 240 epochs).
_here = 'configs/benchmarks/cifar100/'  # the configs written for this suite
teacher = dict(config='configs/rcka/cifar100/teachers/resnet32x4_1xb128_cifar100.py')
student = dict(config=_here + 'resnet8x4_1xb128_cifar100.py')
methods = [
    # mmrazor's baselines
    dict(name='KD', config=_here + 'kd_resnet32x4_resnet8x4_cifar100.py'),
    dict(name='DKD',
         config=_here + 'dkd_resnet32x4_resnet8x4_cifar100.py'),
    dict(name='DIST',
         config=_here + 'dist_resnet32x4_resnet8x4_cifar100.py'),
    dict(name='RKD',
         config=_here + 'rkd_resnet32x4_resnet8x4_cifar100.py'),
    # ours
    dict(name='FCKA',
         config='configs/rcka/cifar100/fcka_resnet32x4_resnet8x4_1xb128_cifar100.py'),
    dict(name='LCKA',
         config='configs/rcka/cifar100/lcka_resnet32x4_resnet8x4_1xb128_cifar100.py'),
    dict(name='RCKA',
         config='configs/rcka/cifar100/rcka_resnet32x4_resnet8x4_1xb128_cifar100.py'),
    dict(name='KDA',
         config=_here + 'kda_before-fc_resnet32x4_resnet8x4_cifar100.py'),
    dict(name='FKD+GNoRP',
         config='configs/fkd/fkd-gnorp_resnet32x4_resnet8x4_1xb64_cifar100.py'),
    dict(name='mAKD+GNoRP',
         config='configs/makd/makd-gnorp_resnet32x4_resnet8x4_1xb64_cifar100.py'),
]
metric = 'accuracy/top1'
# one of CIFAR-100's 10000 test images moves top-1 by 100 / 10000 points: the smallest
# step of the metric (compare_methods.py floors the std of the paired differences at it)
metric_resolution = 100 / 10000
cfg_options = {
    'train_dataloader.batch_size': 64,
    'optim_wrapper.optimizer.lr': 0.05,
    'auto_scale_lr.base_batch_size': 64,
}
seeds = [0, 1, 2]
