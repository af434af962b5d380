# Networks and KDA distillers of Qian et al., "Improved Knowledge Distillation via Full
# Kernel Matrix Transfer" (SDM 2022), Sec. 4: ResNet-34 teacher; ResNet-18, ResNet-18
# at half width and ShuffleNetV2 students; the KDA loss before the last FC layer (the
# pooled features), after it (the logits) or both ("Combo", two KDA losses), with
# w = 0.04 and H = 5 warm-up epochs. A pair config picks entries by name:
#     model = dict(
#         architecture=_base_.kda_classifiers.cifar100.resnet18_half,
#         distiller=_base_.kda_distillers.cifar100.resnet18_half.before_fc)
# Networks: mmpretrain's ResNet_CIFAR (3x3 stride-1 stem, no max-pool; used for the
# 64 x 64 Tiny-ImageNet images too); ResNet-18-0.5 is ResNet_CIFAR-18 with 32 stem and
# base channels (stages of 32/64/128/256 channels). ShuffleNetV2 is mmrazor_relkd's
# ShuffleNetV2CIFAR (3x3 stride-1 stem, no max-pool: the pytorch-cifar100 model family
# the released KDA networks come from; last feature map 4 x 4 on 32 x 32 inputs).
# Loss keys (change an argument with e.g.
# `model = dict(distiller=dict(distill_losses=dict(loss_kda=dict(loss_weight=0.1))))`):
# `loss_kda` in the before-FC and after-FC configs, `loss_kda_before_fc` and
# `loss_kda_after_fc` in the Combo configs.
# Ground-truth labels reach KDALoss through a ModuleInputs recorder on the student's
# `head.loss_module` (mmpretrain's ClsHead calls it as loss_module(cls_score, target):
# data_idx=1); soft Mixup / CutMix targets are reduced to their argmax class.
# Landmark updates and the transfer diagnostics: KDALandmarkHook (in custom_hooks).


def _classifier(backbone: dict, feat_channels: int, num_classes: int) -> dict:
    return dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=num_classes,
            in_channels=feat_channels,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
            topk=(1, 5)))


def _networks() -> dict:
    """name -> (backbone, channels of the pooled features)."""
    return dict(
        resnet34=(dict(type='ResNet_CIFAR', depth=34), 512),
        resnet18=(dict(type='ResNet_CIFAR', depth=18), 512),
        resnet18_half=(dict(type='ResNet_CIFAR', depth=18, stem_channels=32,
                            base_channels=32), 256),
        shufflenet_v2=(dict(type='ShuffleNetV2CIFAR', widen_factor=1.0), 1024),
    )


def _kda_distiller(positions: tuple, num_classes: int, student_channels: int,
                   teacher_channels: int, warmup_epochs: int = 5) -> dict:
    """A ConfigurableDistiller with one KDALoss per position ('before_fc' reads the
    input of `head.fc`, 'after_fc' its output): `loss_kda` for one position,
    `loss_kda_<position>` for each of several. KDA starts after `warmup_epochs` (the
    authors' 5)."""
    student_recorders = dict(
        targets=dict(type='ModuleInputs', source='head.loss_module'))
    teacher_recorders = dict()
    losses, mappings = dict(), dict()
    for position in positions:
        key = 'loss_kda' if len(positions) == 1 else f'loss_kda_{position}'
        if position == 'before_fc':
            recorder = dict(type='ModuleInputs', source='head.fc')
            record = dict(recorder='fc_inputs', data_idx=0)
            channels = (student_channels, teacher_channels)
        else:
            recorder = dict(type='ModuleOutputs', source='head.fc')
            record = dict(recorder='fc_outputs')
            channels = (num_classes, num_classes)
        student_recorders[record['recorder']] = recorder
        teacher_recorders[record['recorder']] = recorder
        losses[key] = dict(
            type='KDALoss',
            num_classes=num_classes,
            student_channels=channels[0],
            teacher_channels=channels[1],
            loss_weight=0.04,
            warmup_epochs=warmup_epochs)
        mappings[key] = dict(
            preds_S=dict(from_student=True, **record),
            preds_T=dict(from_student=False, **record),
            gt_labels=dict(from_student=True, recorder='targets', data_idx=1))
    return dict(
        type='ConfigurableDistiller',
        student_recorders=student_recorders,
        teacher_recorders=teacher_recorders,
        distill_losses=losses,
        loss_forward_mappings=mappings)


def _distillers(num_classes: int) -> dict:
    """student -> before_fc / after_fc / combo distiller for the ResNet-34 teacher."""
    networks = _networks()
    teacher_channels = networks['resnet34'][1]
    positions = dict(
        before_fc=('before_fc', ), after_fc=('after_fc', ),
        combo=('before_fc', 'after_fc'))
    return {
        student: {
            name: _kda_distiller(kinds, num_classes, networks[student][1],
                                 teacher_channels)
            for name, kinds in positions.items()
        }
        for student in ('resnet18', 'resnet18_half', 'shufflenet_v2')
    }


def _classifiers(num_classes: int) -> dict:
    return {
        name: _classifier(backbone, channels, num_classes)
        for name, (backbone, channels) in _networks().items()
    }


kda_classifiers = dict(cifar100=_classifiers(100), tiny_imagenet=_classifiers(200))
kda_distillers = dict(
    cifar100=_distillers(100),
    tiny_imagenet=_distillers(200),
    # the toy pair on "shapes": ResNet-20 -> ResNet-8 of configs/rcka/shapes (64-d
    # pooled features, 4 classes). Its schedule has 4 epochs: 1 warm-up epoch (the
    # authors' 5 of 120 would leave KDA no epoch), KDA active in the last 3.
    shapes=dict(resnet8=dict(
        before_fc=_kda_distiller(('before_fc', ), 4, 64, 64, warmup_epochs=1))))
