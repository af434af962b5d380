# VGG-8 on CIFAR-100, a member of the FKD teacher ensemble (He & Ozay, Fig. 4: VGG-8
# teachers and student). Train one per seed:
#     for seed in 0 1 2; do
#         python tools/train.py configs/fkd/teachers/vgg8_1xb128_cifar100.py \
#             --cfg-options randomness.seed=$seed \
#             --work-dir work_dirs/vgg8_1xb128_cifar100_seed$seed
#     done
_base_ = ['../../rcka/cifar100/_base_/cifar100_bs128_240e.py']

model = _base_.cifar100_classifiers.vgg8
