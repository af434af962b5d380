# ResNet-8x4 trained alone on CIFAR-100: the plain student of the ResNet-32x4 ->
# ResNet-8x4 pair (RCKA paper Tab. 1), with the data and schedule of the teacher's
# config (configs/rcka/cifar100/teachers/resnet32x4_1xb128_cifar100.py). The suite
# configs/benchmarks/cifar100_resnet32x4_resnet8x4.py sets the batch and lr it shares
# with every method.
_base_ = ['../../rcka/cifar100/_base_/cifar100_bs128_240e.py']

model = _base_.cifar100_classifiers.resnet8x4
