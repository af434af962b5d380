# PCKA (patch-wise CKA) distillation on the FPN outputs of an mmdet detector.
# Zhou et al., "Rethinking Centered Kernel Alignment in Knowledge Distillation",
# IJCAI 2024, Sec. 3.4 and App. B. The authors' COCO settings shared by every pair:
# one PCKALoss of weight 10 on each FPN level 0-3 (16 x 16 patches, averaged over
# channels), 2x schedule (lr / 10 at epochs 16 and 22), SGD lr 0.01, batch
# 4 GPUs x 3 images. A pair config adds the student (`architecture`), the teacher,
# `teacher_ckpt` and whatever differs (inter term, lr, warm-up).
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_2x.py',
    'mmdet::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmrazor_relkd'], allow_failed_imports=False)

model = dict(
    _scope_='mmrazor',
    type='FpnTeacherDistill',
    architecture=dict(pretrained=False),
    teacher=dict(pretrained=False),
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        distill_losses={
            f'loss_pcka_fpn{level}': dict(
                type='PCKALoss',
                loss_weight=10.0,
                inter_weight=0.0,
                patch_size=16,
                reduce='channel')
            for level in range(4)
        },
        loss_forward_mappings={
            f'loss_pcka_fpn{level}': dict(
                preds_S=dict(from_student=True, recorder='fpn', data_idx=level),
                preds_T=dict(
                    from_student=False, recorder='fpn', data_idx=level))
            for level in range(4)
        }))

find_unused_parameters = True

val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')

# 4 GPUs x 3 images; lr 0.01 is App. B's value for this total batch of 12.
train_dataloader = dict(batch_size=3)
optim_wrapper = dict(optimizer=dict(lr=0.01))
auto_scale_lr = dict(base_batch_size=12)
