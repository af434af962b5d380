# KDA before and after the last FC layer ("Combo": two KDA losses),
# ResNet-34 -> ShuffleNetV2 on Tiny-ImageNet; paper Tab. 3: 62.4 top-1
# (student alone 60.6, teacher 66.6).
_base_ = ['../_base_/distill_kda_tiny-imagenet.py']

model = dict(
    architecture=_base_.kda_classifiers.tiny_imagenet.shufflenet_v2,
    distiller=_base_.kda_distillers.tiny_imagenet.shufflenet_v2.combo)
