# The embedded demo's distillation: PCKA from the RetinaNet-R34 teacher to the half-width
# RetinaNet-R18 student on "shapes", same schedule and seed as the student alone.
# The teacher's weights default to where `tools/train.py
# configs/shapes/retinanet_r34_fpn_shapes.py` writes them from the repository root
# (anchored at this file, not the cwd); pass others with
# `--cfg-options model.teacher_ckpt=PATH` (the demo, tools/run_demo.py, does). The 128 px images give FPN levels of 16, 8 and 4 pixels, so
# the patches shrink with the level to keep a 4 x 4 grid of patches per level (a level
# that is a single patch has a 1 x 1 Gram matrix and carries no signal); level 3 (2 x 2
# pixels) is left out for the same reason. Weight 10 per level as in the paper.
_base_ = ['./_base_/retinanet_fpn_shapes.py']

custom_imports = dict(imports=['mmrazor_relkd'], allow_failed_imports=False)

patch_sizes = (4, 2, 1)
model = dict(
    _scope_='mmrazor',
    type='FpnTeacherDistill',
    architecture={{_base_.student_model}},
    teacher={{_base_.teacher_model}},
    teacher_ckpt='{{ fileDirname }}/../../work_dirs/retinanet_r34_fpn_shapes/epoch_1.pth',
    distiller=dict(
        type='ConfigurableDistiller',
        student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
        distill_losses={
            f'loss_pcka_fpn{level}': dict(
                type='PCKALoss', loss_weight=10.0, patch_size=size, reduce='channel')
            for level, size in enumerate(patch_sizes)
        },
        loss_forward_mappings={
            f'loss_pcka_fpn{level}': dict(
                preds_S=dict(from_student=True, recorder='fpn', data_idx=level),
                preds_T=dict(from_student=False, recorder='fpn', data_idx=level))
            for level in range(len(patch_sizes))
        }))
find_unused_parameters = True
val_cfg = dict(_delete_=True, type='mmrazor.SingleTeacherDistillValLoop')
