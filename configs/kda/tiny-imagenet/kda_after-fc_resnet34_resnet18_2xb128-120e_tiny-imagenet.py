# KDA after the last FC layer (logits),
# ResNet-34 -> ResNet-18 on Tiny-ImageNet; paper Tab. 3: 65.4 top-1
# (student alone 63.4, teacher 66.6).
_base_ = ['../_base_/distill_kda_tiny-imagenet.py']

model = dict(
    architecture=_base_.kda_classifiers.tiny_imagenet.resnet18,
    distiller=_base_.kda_distillers.tiny_imagenet.resnet18.after_fc)
