# PCKA (patch-wise CKA) distillation on the FPN outputs of an mmdet detector.
# Zhou et al., "Rethinking Centered Kernel Alignment in Knowledge Distillation",
# IJCAI 2024, Sec. 3.4 and App. B; released configs: Klayand/PCKA,
# mmrazor/configs/distill/mmdet/cka/cka_fpn_*_2x_coco.py. Policy: a setting follows the
# released config of the experiment, unless the paper's own ablation names another one
# behind the headline number; every difference and its choice: docs/recipes.md.
# Shared by every pair: one PCKALoss of weight 10 on each FPN level 0-3 (16 x 16
# patches, averaged over channels), mmdet's 2x schedule (linear warm-up over 500
# iterations, lr / 10 at epochs 16 and 22), SGD lr 0.01, 4 GPUs x 3 images.
# A pair config adds the student (`architecture`) and the teacher as full mmdet model
# dicts (so a derived config can change any of their keys, e.g. the classes), the
# teacher checkpoint and whatever differs (inter term, lr, levels).
# The loss keys are `loss_pcka_fpn0` ... `loss_pcka_fpn3`; change an argument with e.g.
# `model = dict(distiller=dict(distill_losses=dict(loss_pcka_fpn0=dict(patch_size=8))))`.
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_2x.py',
    'mmdet::_base_/default_runtime.py',
]

custom_imports = dict(imports=['mmrazor_relkd'], allow_failed_imports=False)

model = dict(
    _scope_='mmrazor',
    type='FpnTeacherDistill',
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

# 4 GPUs x 3 images: App. B, and Tab. 12's "4 x 3" row is the headline 40.3 AP. The
# released configs inherit mmdet's 2 images per GPU and record no GPU count.
train_dataloader = dict(batch_size=3)
# lr 0.01: the released RetinaNet, RepPoints and FCOS configs (and App. B).
optim_wrapper = dict(optimizer=dict(lr=0.01))
# The lr above is for a total batch of 12. On another number of GPUs or images per GPU,
# `tools/train.py --auto-scale-lr` scales it linearly with the total batch.
auto_scale_lr = dict(enable=False, base_batch_size=12)
