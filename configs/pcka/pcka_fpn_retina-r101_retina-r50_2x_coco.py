# PCKA, RetinaNet R101 (38.9 AP) -> RetinaNet R50 (37.4 AP); paper Tab. 9.
# Released config: cka_fpn_retina_r101_retina_r50_2x_coco.py (the base's settings).
_base_ = ['./_base_/pcka_fpn_distill.py']
# After _base_ (mmengine reads this file as a plain config): full model dicts.
from mmengine.hub import get_config  # noqa: E402

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/retinanet/retinanet_r101_fpn_2x_coco/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth'  # noqa: E501

model = dict(
    architecture=dict(
        _scope_='mmdet',
        **get_config('mmdet::retinanet/retinanet_r50_fpn_2x_coco.py').model),
    teacher=dict(
        _scope_='mmdet',
        **get_config('mmdet::retinanet/retinanet_r101_fpn_2x_coco.py').model),
    teacher_ckpt=teacher_ckpt)
