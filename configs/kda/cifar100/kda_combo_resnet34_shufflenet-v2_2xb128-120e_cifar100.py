# KDA before and after the last FC layer ("Combo": two KDA losses),
# ResNet-34 -> ShuffleNetV2 on CIFAR-100; paper Tab. 2: 74.2 top-1
# (student alone 71.7, teacher 80.3).
_base_ = ['../_base_/distill_kda_cifar100.py']

model = dict(
    architecture=_base_.kda_classifiers.cifar100.shufflenet_v2,
    distiller=_base_.kda_distillers.cifar100.shufflenet_v2.combo)
