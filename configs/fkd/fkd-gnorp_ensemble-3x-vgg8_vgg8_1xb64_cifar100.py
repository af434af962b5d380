# FKD + GNoRP (r = 3.5) from an ensemble of three VGG-8 teachers (independent seeds)
# to a VGG-8 student on CIFAR-100 (He & Ozay, Fig. 4: the larger the ensemble, the
# better the student). The target is the mean of the teachers' feature kernels.
# Train the teachers with configs/fkd/teachers/vgg8_1xb128_cifar100.py (one per seed).
_base_ = ['./_base_/fkd_cifar100.py']

model = dict(
    architecture=_base_.cifar100_classifiers.vgg8,
    teacher=dict(
        type='TeacherEnsemble',
        teachers=[_base_.cifar100_classifiers.vgg8] * 3,
        checkpoints=[
            f'work_dirs/vgg8_1xb128_cifar100_seed{seed}/epoch_240.pth'
            for seed in range(3)
        ]),
    distiller=dict(
        # source='' records the ensemble's output: one feature tensor per teacher
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='')),
        loss_forward_mappings=dict(
            loss_fkd=dict(
                preds_T=dict(_delete_=True, from_student=False, recorder='feat')))))

# The ensemble only extracts features: validate the student alone.
val_cfg = dict(_delete_=True, type='ValLoop')
