# PCKA, RepPoints-moment X101-32x4d with DCN in stages 2-4 (44.2 AP) -> RepPoints-moment
# R50 (38.6 AP), GN neck and head; paper Tab. 9.
# Released config: cka_fpn_reppoint_x101_reppoint_r50_2x_coco.py (the base's settings).
_base_ = ['./_base_/pcka_fpn_distill.py']
# After _base_ (mmengine reads this file as a plain config): full model dicts.
from mmengine.hub import get_config  # noqa: E402

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/reppoints/reppoints_moment_x101_fpn_dconv_c3-c5_gn-neck%2Bhead_2x_coco/reppoints_moment_x101_fpn_dconv_c3-c5_gn-neck%2Bhead_2x_coco_20200329-f87da1ea.pth'  # noqa: E501

model = dict(
    architecture=dict(
        _scope_='mmdet',
        **get_config('mmdet::reppoints/reppoints-moment_r50_fpn-gn_head-gn_2x_coco.py').model),
    teacher=dict(
        _scope_='mmdet',
        **get_config('mmdet::reppoints/reppoints-moment_x101-dconv-c3-c5_fpn-gn_head-gn_2x_coco.py').model),
    teacher_ckpt=teacher_ckpt)
