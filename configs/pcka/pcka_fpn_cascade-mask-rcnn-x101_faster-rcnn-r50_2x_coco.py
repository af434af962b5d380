# PCKA, Cascade Mask R-CNN X101-64x4d (45.6 box AP) -> Faster R-CNN R50 (38.4 AP);
# paper Tab. 3. Released config: cka_fpn_cmrcnn_x101_frcnn_r50_2x_coco.py: inter term on
# with the intra weight, lr 0.02 (inherited from mmdet's schedule_2x; App. B: 0.02).
# The teacher runs only its backbone and FPN, so its mask head needs no masks.
_base_ = ['./_base_/pcka_fpn_distill.py']
# After _base_ (mmengine reads this file as a plain config): full model dicts.
from mmengine.hub import get_config  # noqa: E402

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/cascade_rcnn/cascade_mask_rcnn_x101_64x4d_fpn_20e_coco/cascade_mask_rcnn_x101_64x4d_fpn_20e_coco_20200512_161033-bdb5126a.pth'  # noqa: E501

model = dict(
    architecture=dict(
        _scope_='mmdet',
        **get_config('mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py').model),
    teacher=dict(
        _scope_='mmdet',
        **get_config('mmdet::cascade_rcnn/cascade-mask-rcnn_x101-64x4d_fpn_20e_coco.py').model),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(distill_losses={
        f'loss_pcka_fpn{level}': dict(inter_weight=10.0)
        for level in range(4)
    }))

optim_wrapper = dict(optimizer=dict(lr=0.02))
