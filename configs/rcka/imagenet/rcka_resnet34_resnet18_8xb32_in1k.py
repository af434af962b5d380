# RCKA, ResNet-34 -> ResNet-18 on ImageNet-1k (paper Tab. 2). The paper's teacher is
# torchvision's ResNet-34 (73.31 top-1); this is the same architecture from the
# mmpretrain model zoo (resnet34_8xb32_in1k, 73.62 top-1).
_base_ = ['./_base_/distill_8xb32_in1k.py']
# After _base_ (mmengine reads this file as a plain config): full model dicts.
from mmengine.hub import get_config  # noqa: E402

teacher_ckpt = 'https://download.openmmlab.com/mmclassification/v0/resnet/resnet34_8xb32_in1k_20210831-f257d4e6.pth'  # noqa: E501

model = dict(
    architecture=dict(
        _scope_='mmpretrain',
        **get_config('mmpretrain::resnet/resnet18_8xb32_in1k.py').model),
    teacher=dict(
        _scope_='mmpretrain',
        **get_config('mmpretrain::resnet/resnet34_8xb32_in1k.py').model),
    teacher_ckpt=teacher_ckpt,
    distiller=_base_.cka_distillers.rcka)
