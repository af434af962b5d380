# KDA after the last FC layer (logits),
# ResNet-34 -> ResNet-18-0.5 on CIFAR-100; paper Tab. 2: 75.3 top-1
# (student alone 73.5, teacher 80.3).
_base_ = ['../_base_/distill_kda_cifar100.py']

model = dict(
    architecture=_base_.kda_classifiers.cifar100.resnet18_half,
    distiller=_base_.kda_distillers.cifar100.resnet18_half.after_fc)
