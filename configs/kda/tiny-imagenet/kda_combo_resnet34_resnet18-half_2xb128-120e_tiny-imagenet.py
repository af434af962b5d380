# KDA before and after the last FC layer ("Combo": two KDA losses),
# ResNet-34 -> ResNet-18-0.5 on Tiny-ImageNet; paper Tab. 3: 62.2 top-1
# (student alone 60.3, teacher 66.6).
_base_ = ['../_base_/distill_kda_tiny-imagenet.py']

model = dict(
    architecture=_base_.kda_classifiers.tiny_imagenet.resnet18_half,
    distiller=_base_.kda_distillers.tiny_imagenet.resnet18_half.combo)
