# PCKA, RetinaNet X101-64x4d (41.0 AP) -> RetinaNet R50 (37.4 AP); paper Tab. 3: 40.3 AP.
# Released config: cka_fpn_retina_x101_retina_r50_2x_coco.py (4 FPN levels, lr 0.01).
# FPN levels: the paper's Tab. 13 ablation on this pair gives 40.3 AP (the headline)
# with 3 distilled levels and has no 4-level row; the released config distils 4. By
# the policy (the paper's ablation names the setting behind the headline) we distil 3:
# levels 0-2 (P3-P5; the paper does not name which three).
_base_ = ['./_base_/pcka_fpn_distill.py']
# After _base_ (mmengine reads this file as a plain config): full model dicts.
from mmengine.hub import get_config  # noqa: E402

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/retinanet/retinanet_x101_64x4d_fpn_1x_coco/retinanet_x101_64x4d_fpn_1x_coco_20200130-366f5af1.pth'  # noqa: E501

model = dict(
    architecture=dict(
        _scope_='mmdet',
        **get_config('mmdet::retinanet/retinanet_r50_fpn_2x_coco.py').model),
    teacher=dict(
        _scope_='mmdet',
        **get_config('mmdet::retinanet/retinanet_x101-64x4d_fpn_1x_coco.py').model),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        distill_losses=dict(
            _delete_=True, **{
                f'loss_pcka_fpn{level}':
                _base_.model.distiller.distill_losses[f'loss_pcka_fpn{level}']
                for level in range(3)
            }),
        loss_forward_mappings=dict(
            _delete_=True, **{
                f'loss_pcka_fpn{level}':
                _base_.model.distiller.loss_forward_mappings[f'loss_pcka_fpn{level}']
                for level in range(3)
            })))
