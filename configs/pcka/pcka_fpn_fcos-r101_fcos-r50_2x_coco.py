# PCKA, FCOS R101 (40.8 AP) -> FCOS R50 (38.5 AP), both caffe-style with a GN head;
# paper Tab. 3. Released config: cka_fpn_fcos_r101_fcox_r50_2x_coco.py, the RetinaNet
# recipe with other models: single-scale 1333 x 800 training, mmdet's linear warm-up
# (500 iterations from lr x 0.001), lr 0.01, no bias lr / decay multipliers, no
# gradient clipping. App. B instead says FCOS follows FGD (Yang et al. 2022a), whose
# FCOS recipe is multi-scale 640-800, a linear warm-up from lr / 3, bias lr x 2 without
# decay and gradient clipping at 35. We follow the released config.
_base_ = ['./_base_/pcka_fpn_distill.py']
# After _base_ (mmengine reads this file as a plain config): full model dicts.
from mmengine.hub import get_config  # noqa: E402

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/fcos/fcos_r101_caffe_fpn_gn-head_mstrain_640-800_2x_coco/fcos_r101_caffe_fpn_gn-head_mstrain_640-800_2x_coco-511424d6.pth'  # noqa: E501

model = dict(
    architecture=dict(
        _scope_='mmdet',
        **get_config('mmdet::fcos/fcos_r50-caffe_fpn_gn-head_ms-640-800-2x_coco.py').model),
    teacher=dict(
        _scope_='mmdet',
        **get_config('mmdet::fcos/fcos_r101-caffe_fpn_gn-head_ms-640-800-2x_coco.py').model),
    teacher_ckpt=teacher_ckpt)
