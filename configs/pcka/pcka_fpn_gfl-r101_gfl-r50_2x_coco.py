# PCKA, GFL R101 (44.7 AP, ms-2x) -> GFL R50 (40.2 AP); paper Tab. 4. The authors
# used the inter term on this pair, with the intra weight.
_base_ = ['./_base_/pcka_fpn_distill.py']

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/gfl/gfl_r101_fpn_mstrain_2x_coco/gfl_r101_fpn_mstrain_2x_coco_20200629_200126-dd12f847.pth'  # noqa: E501

model = dict(
    architecture=dict(cfg_path='mmdet::gfl/gfl_r50_fpn_1x_coco.py'),
    teacher=dict(cfg_path='mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py'),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(distill_losses={
        f'loss_pcka_fpn{level}': dict(inter_weight=10.0)
        for level in range(4)
    }))
