# PCKA, Faster R-CNN R101 (39.8 AP) -> Faster R-CNN R50 (38.4 AP); paper Tab. 9.
# Two-stage pair: the inter (transposed) term is on, with the intra weight.
_base_ = ['./_base_/pcka_fpn_distill.py']

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/faster_rcnn/faster_rcnn_r101_fpn_2x_coco/faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_20200504_210455-1d2dac9c.pth'  # noqa: E501

model = dict(
    architecture=dict(cfg_path='mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py'),
    teacher=dict(cfg_path='mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(distill_losses={
        f'loss_pcka_fpn{level}': dict(inter_weight=10.0)
        for level in range(4)
    }))
