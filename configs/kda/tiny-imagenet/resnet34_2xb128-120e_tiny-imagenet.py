# The ResNet-34 teacher of the KDA configs on Tiny-ImageNet (paper Tab. 3: 66.6 top-1),
# trained with the students' schedule.
_base_ = [
    '../_base_/tiny-imagenet_2xb128.py', '../_base_/sgd-cosine_120e.py',
    '../_base_/kda_models.py'
]

model = _base_.kda_classifiers.tiny_imagenet.resnet34
