"""Small CIFAR-ResNet classifiers (with BatchNorm) and the four distillation algorithms
the plugin ships or configures, built around them, for the teacher tests."""
from typing import Dict, List, Optional

import torch
from mmpretrain.structures import DataSample

NUM_CLASSES = 4
IMAGE_SIZE = 16
ALGORITHMS = ('SingleTeacherDistill', 'FpnTeacherDistill', 'GNoRPDistill',
              'TeacherEnsemble')


def classifier(depth: int = 8, num_classes: int = NUM_CLASSES) -> Dict:
    """A CIFAR ResNet ``depth`` (16-32-64 channels) with a linear head."""
    return dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=dict(type='ResNetCIFAR6n2', depth=depth),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=64,
                  loss=dict(type='CrossEntropyLoss')))


def save_weights(model_cfg: Dict, path: str, seed: int = 0) -> str:
    """Build ``model_cfg`` with ``seed``, initialise it and save it as an mmengine
    checkpoint at ``path``; returns ``path``."""
    from mmrazor.registry import MODELS
    torch.manual_seed(seed)
    model = MODELS.build(model_cfg)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


def algorithm_cfg(name: str, teacher_ckpts: Optional[List[Optional[str]]] = None,
                  **extra) -> Dict:
    """One of :data:`ALGORITHMS` (``'TeacherEnsemble'``: ``SingleTeacherDistill`` with
    a two-member ensemble) distilling the penultimate features into a ResNet-8 with
    ``FKDLoss``. ``teacher_ckpts``: the one (or two for the ensemble) checkpoints."""
    ensemble = name == 'TeacherEnsemble'
    teacher_ckpts = teacher_ckpts or [None] * (2 if ensemble else 1)
    cfg = dict(
        type='SingleTeacherDistill' if ensemble else name,
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=NUM_CLASSES, mean=[128.0] * 3,
                               std=[64.0] * 3),
        architecture=classifier(8),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
            teacher_recorders=dict(feat=dict(
                type='ModuleOutputs', source='' if ensemble else 'neck')),
            distill_losses=dict(loss_fkd=dict(type='FKDLoss', loss_weight=1.0)),
            loss_forward_mappings=dict(loss_fkd=dict(
                preds_S=dict(from_student=True, recorder='feat', data_idx=-1),
                preds_T=dict(from_student=False, recorder='feat',
                             data_idx=None if ensemble else -1)))))
    if ensemble:
        cfg['teacher'] = dict(type='TeacherEnsemble', teachers=[classifier(14),
                                                                 classifier(8)],
                              checkpoints=teacher_ckpts)
    else:
        cfg['teacher'] = classifier(14)
        cfg['teacher_ckpt'] = teacher_ckpts[0]
    if name == 'GNoRPDistill':
        cfg['gnorp'] = dict(ratio=1.0, feature=dict(recorder='feat', data_idx=-1))
    cfg.update(extra)
    return cfg


def teacher_checkpoints(name: str, directory: str) -> List[str]:
    """Fitting teacher checkpoints for :func:`algorithm_cfg` ``(name)``."""
    depths = (14, 8) if name == 'TeacherEnsemble' else (14, )
    return [save_weights(classifier(depth), f'{directory}/teacher{index}.pth',
                         seed=10 + index) for index, depth in enumerate(depths)]


def batch(seed: int, size: int = 8) -> Dict:
    """A batch of uint8 images and labels, as a dataloader gives it."""
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randint(0, 256, (size, 3, IMAGE_SIZE, IMAGE_SIZE), generator=gen,
                           dtype=torch.uint8)
    labels = torch.randint(0, NUM_CLASSES, (size, ), generator=gen)
    return dict(inputs=list(inputs),
                data_samples=[DataSample().set_gt_label(label) for label in labels])
