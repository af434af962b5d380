# MGD (Yang et al., ECCV 2022) with mmrazor's MGDConnector + MGDLoss on all five FPN
# levels, RetinaNet X101-64x4d -> R50 on COCO, as mmrazor's
# configs/distill/mmdet/mgd/mgd_fpn_retina_x101_retina_r50_2x_coco.py sets it up:
# lambda_mgd 0.65, alpha_mgd 2e-5 (on the neck outputs, which are the outputs of the
# `fpn_convs.<i>.conv` mmrazor records: RetinaNet's FPN convs have no norm or
# activation), and the student's neck and head initialised from the
# teacher checkpoint (part of mmrazor's MGD recipe; the other methods start them from
# scratch). That initialisation reads `teacher_ckpt` below, not the `model.teacher_ckpt`
# the suite sets: change both to use another teacher.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']

teacher_ckpt = 'https://download.openmmlab.com/mmdetection/v2.0/retinanet/retinanet_x101_64x4d_fpn_1x_coco/retinanet_x101_64x4d_fpn_1x_coco_20200130-366f5af1.pth'  # noqa: E501

model = dict(
    _scope_='mmrazor',
    _delete_=True,
    type='FpnTeacherDistill',
    architecture=dict(
        _base_.model,
        neck=dict(
            _base_.model.neck,
            init_cfg=dict(
                type='Pretrained', prefix='neck.', checkpoint=teacher_ckpt)),
        bbox_head=dict(
            _base_.model.bbox_head,
            init_cfg=dict(
                type='Pretrained', prefix='bbox_head.',
                checkpoint=teacher_ckpt))),
    teacher=dict(
        cfg_path='mmdet::retinanet/retinanet_x101-64x4d_fpn_1x_coco.py',
        pretrained=False),
    teacher_ckpt=teacher_ckpt,
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        connectors={
            f'fpn{level}_mgd_connector': dict(
                type='MGDConnector',
                student_channels=256,
                teacher_channels=256,
                lambda_mgd=0.65)
            for level in range(5)
        },
        distill_losses={
            f'loss_mgd_fpn{level}': dict(type='MGDLoss', alpha_mgd=0.00002)
            for level in range(5)
        },
        loss_forward_mappings={
            f'loss_mgd_fpn{level}': dict(
                preds_S=dict(
                    from_student=True,
                    recorder='fpn',
                    data_idx=level,
                    connector=f'fpn{level}_mgd_connector'),
                preds_T=dict(from_student=False, recorder='fpn', data_idx=level))
            for level in range(5)
        }))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
