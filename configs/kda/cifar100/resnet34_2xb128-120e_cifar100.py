# The ResNet-34 teacher of the KDA configs on CIFAR-100 (paper Tab. 2: 80.3 top-1),
# trained with the students' schedule.
_base_ = [
    '../_base_/cifar100_2xb128.py', '../_base_/sgd-cosine_120e.py',
    '../_base_/kda_models.py'
]

model = _base_.kda_classifiers.cifar100.resnet34
