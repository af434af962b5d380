"""Minimal configs of every distillation algorithm in mmrazor's registry, each on the
CIFAR-ResNet classifiers of :mod:`distill_algorithms` with fitting teacher checkpoints,
and the optimiser wrapper each trains with."""
from types import SimpleNamespace
from typing import Callable, Dict, Set, Tuple

import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict

from distill_algorithms import (NUM_CLASSES, algorithm_cfg, classifier, save_weights,
                                teacher_checkpoints)
from mmrazor.models.algorithms.base import BaseAlgorithm
from mmrazor.registry import MODELS

DISTILL_PACKAGE = 'mmrazor.models.algorithms.distill.'
#: the generator's latent size and image side (the classifiers take 16 x 16 images)
LATENT_DIM, IMAGE_SIZE = 8, 16


def registered_distillation_algorithms() -> Set[str]:
    """mmrazor's registered ``BaseAlgorithm`` subclasses from its ``distill`` package."""
    return {name for name, cls in MODELS.module_dict.items()
            if isinstance(cls, type) and issubclass(cls, BaseAlgorithm)
            and cls.__module__.startswith(DISTILL_PACKAGE)}


def _preprocessor() -> Dict:
    return dict(type='mmpretrain.ClsDataPreprocessor', num_classes=NUM_CLASSES,
                mean=[128.0] * 3, std=[64.0] * 3)


def _single_teacher(name: str, directory: str) -> Dict:
    return algorithm_cfg(name, teacher_checkpoints(name, directory))


def _ofd(directory: str) -> Dict:
    """OFD on the first BN of the last stage (64 channels, before a ReLU module), as
    mmrazor's config, with a fitting teacher checkpoint (OFD passes it on
    positionally)."""
    source = 'backbone.layer3.0.bn1'
    return dict(
        type='OverhaulFeatureDistillation', data_preprocessor=_preprocessor(),
        architecture=classifier(8), teacher=classifier(14),
        teacher_ckpt=teacher_checkpoints('OverhaulFeatureDistillation', directory)[0],
        distiller=dict(
            type='OFDDistiller',
            student_recorders=dict(bn=dict(type='ModuleOutputs', source=source)),
            teacher_recorders=dict(bn=dict(type='ModuleOutputs', source=source)),
            distill_losses=dict(loss_ofd=dict(type='OFDLoss')),
            connectors=dict(
                s_bn=dict(type='ConvModuleConnector', in_channel=64, out_channel=64,
                          norm_cfg=dict(type='BN'), act_cfg=None),
                t_bn=dict(type='OFDTeacherConnector')),
            loss_forward_mappings=dict(loss_ofd=dict(
                s_feature=dict(from_student=True, recorder='bn', connector='s_bn'),
                t_feature=dict(from_student=False, recorder='bn', connector='t_bn')))))


def _self_distill(directory: str) -> Dict:
    """The last stage's two BN outputs of the one student, one distilled to the other."""
    return dict(
        type='SelfDistill', data_preprocessor=_preprocessor(), architecture=classifier(8),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(bn1=dict(type='ModuleOutputs',
                                            source='backbone.layer3.0.bn1')),
            teacher_recorders=dict(bn2=dict(type='ModuleOutputs',
                                            source='backbone.layer3.0.bn2')),
            distill_losses=dict(loss_l2=dict(type='L2Loss')),
            loss_forward_mappings=dict(loss_l2=dict(
                s_feature=dict(from_student=True, recorder='bn1'),
                t_feature=dict(from_student=False, recorder='bn2')))))


def _data_free(name: str, directory: str) -> Dict:
    """mmrazor's DFAD / DAFL recipes in small: one teacher loaded from ``ckpt_path``, a
    DAFL generator, the logits distilled (KL) and the generator's losses."""
    teacher = classifier(14)
    logits = dict(student=dict(type='ModuleOutputs', source='head.fc'))
    teacher_logits = dict(fc=dict(type='ModuleOutputs', source='res.head.fc'))
    if name == 'DAFLDataFreeDistillation':
        generator_distiller = dict(
            type='ConfigurableDistiller',
            teacher_recorders=dict(
                teacher_logits, gap=dict(type='ModuleOutputs', source='res.neck.gap')),
            distill_losses=dict(
                loss_oh=dict(type='OnehotLikeLoss', loss_weight=0.05),
                loss_ie=dict(type='InformationEntropyLoss', loss_weight=5),
                loss_ac=dict(type='ActivationLoss', loss_weight=0.01)),
            loss_forward_mappings=dict(
                loss_oh=dict(preds_T=dict(from_student=False, recorder='fc')),
                loss_ie=dict(preds_T=dict(from_student=False, recorder='fc')),
                loss_ac=dict(feat_T=dict(from_student=False, recorder='gap'))))
    else:
        generator_distiller = dict(
            type='ConfigurableDistiller', student_recorders=logits,
            teacher_recorders=teacher_logits,
            distill_losses=dict(loss_l1=dict(type='L1Loss', loss_weight=-1.0)),
            loss_forward_mappings=dict(loss_l1=dict(
                s_feature=dict(from_student=True, recorder='student'),
                t_feature=dict(from_student=False, recorder='fc'))))
    return dict(
        type=name, data_preprocessor=_preprocessor(), architecture=classifier(8),
        teachers=dict(res=dict(build_cfg=teacher, ckpt_path=save_weights(
            teacher, f'{directory}/res.pth', seed=5))),
        generator=dict(type='DAFLGenerator', img_size=IMAGE_SIZE, latent_dim=LATENT_DIM,
                       hidden_channels=8),
        distiller=dict(
            type='ConfigurableDistiller', student_recorders=logits,
            teacher_recorders=teacher_logits,
            distill_losses=dict(loss_kl=dict(type='KLDivergence', tau=4)),
            loss_forward_mappings=dict(loss_kl=dict(
                preds_S=dict(from_student=True, recorder='student'),
                preds_T=dict(from_student=False, recorder='fc')))),
        generator_distiller=generator_distiller)


def _sgd(module: torch.nn.Module) -> OptimWrapper:
    return OptimWrapper(torch.optim.SGD(module.parameters(), lr=0.1))


def _one_optimizer(algorithm) -> OptimWrapper:
    return _sgd(algorithm)


def _student_and_generator(algorithm) -> OptimWrapperDict:
    # mmrazor reads generator.module.latent_dim, which its distributed wrapper
    # (MMSeparateDistributedDataParallel) provides; a single process has no wrapper
    algorithm.generator.module = SimpleNamespace(latent_dim=LATENT_DIM)
    return OptimWrapperDict(architecture=_sgd(algorithm.architecture),
                            generator=_sgd(algorithm.generator))


#: name -> (config for a directory of teacher checkpoints, optimiser wrapper for it)
CASES: Dict[str, Tuple[Callable[[str], Dict], Callable]] = {
    'SingleTeacherDistill': (lambda d: _single_teacher('SingleTeacherDistill', d),
                             _one_optimizer),
    'FpnTeacherDistill': (lambda d: _single_teacher('FpnTeacherDistill', d),
                          _one_optimizer),
    'OverhaulFeatureDistillation': (_ofd, _one_optimizer),
    'SelfDistill': (_self_distill, _one_optimizer),
    'DataFreeDistillation': (lambda d: _data_free('DataFreeDistillation', d),
                             _student_and_generator),
    'DAFLDataFreeDistillation': (lambda d: _data_free('DAFLDataFreeDistillation', d),
                                 _student_and_generator),
}
