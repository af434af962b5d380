"""The RCKA classification configs of ``configs/rcka/`` (Zhou et al., IJCAI 2024,
Tab. 1, Tab. 2, App. B): the paper's pairs and settings, teachers the distillation
configs can load, and one training step of every config on a tiny synthetic batch."""
import functools
import glob
import os.path as osp
from typing import Dict

import pytest
import yaml

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
import mmpretrain
from mmengine.config import Config

from config_smoke import run_one_train_step
from conftest import REPO_ROOT

RCKA_DIR = osp.join(REPO_ROOT, 'configs', 'rcka')
CONFIGS = sorted(
    path for path in glob.glob(osp.join(RCKA_DIR, '**', '*.py'), recursive=True)
    if '_base_' not in path)
MMPRETRAIN_CONFIGS = osp.join(osp.dirname(mmpretrain.__file__), '.mim', 'configs')

# Tab. 1's networks: backbone and output channels (the linear head's input).
CIFAR_NETWORKS = {
    'resnet20': (dict(type='ResNetCIFAR6n2', depth=20), 64),
    'resnet32': (dict(type='ResNetCIFAR6n2', depth=32), 64),
    'resnet110': (dict(type='ResNetCIFAR6n2', depth=110), 64),
    'resnet8x4': (dict(type='ResNetCIFAR6n2', depth=8, stem_channels=32,
                       base_channels=64), 256),
    'resnet32x4': (dict(type='ResNetCIFAR6n2', depth=32, stem_channels=32,
                        base_channels=64), 256),
    'wrn-16-2': (dict(type='WideResNetCIFAR', depth=16, widen_factor=2), 128),
    'wrn-40-1': (dict(type='WideResNetCIFAR', depth=40, widen_factor=1), 64),
    'wrn-40-2': (dict(type='WideResNetCIFAR', depth=40, widen_factor=2), 128),
    'vgg8': (dict(type='VGGCIFAR', depth=8), 512),
    'vgg13': (dict(type='VGGCIFAR', depth=13), 512),
    'shufflenet-v1': (dict(type='ShuffleNetV1CIFAR', groups=3), 960),
    'mobilenet-v2-half': (dict(type='MobileNetV2CIFAR', widen_factor=0.5), 1280),
}
# (teacher, student) pairs of Tab. 1
CIFAR_PAIRS = [('resnet110', 'resnet20'), ('resnet110', 'resnet32'),
               ('wrn-40-2', 'wrn-40-1'), ('wrn-40-2', 'wrn-16-2'),
               ('resnet32x4', 'resnet8x4'), ('vgg13', 'vgg8'),
               ('wrn-40-2', 'shufflenet-v1'), ('resnet32x4', 'shufflenet-v1'),
               ('vgg13', 'mobilenet-v2-half')]
METHODS = ('fcka', 'lcka', 'rcka')
CIFAR_DISTILL = {
    osp.join(RCKA_DIR, 'cifar100',
             f'{method}_{teacher}_{student}_1xb128_cifar100.py'): (method, teacher,
                                                                  student)
    for teacher, student in CIFAR_PAIRS for method in METHODS
}
CIFAR_TEACHERS = {
    osp.join(RCKA_DIR, 'cifar100', 'teachers', f'{teacher}_1xb128_cifar100.py'):
    teacher
    for teacher in sorted({teacher for teacher, _ in CIFAR_PAIRS})
}
IMAGENET = {
    osp.join(RCKA_DIR, 'imagenet', 'rcka_resnet34_resnet18_8xb32_in1k.py'):
    'resnet/resnet34_8xb32_in1k.py',
    osp.join(RCKA_DIR, 'imagenet', 'rcka_resnet50_mobilenet-v1_8xb32_in1k.py'):
    'resnet/resnet50_8xb32_in1k.py',
}
SHAPES_TEACHER = osp.join(RCKA_DIR, 'shapes', 'resnet20_1xb32_shapes.py')
SHAPES_STUDENT = osp.join(RCKA_DIR, 'shapes', 'resnet8_1xb32_shapes.py')
SHAPES_DISTILL = osp.join(RCKA_DIR, 'shapes',
                          'rcka_resnet20_resnet8_1xb32_shapes.py')

FCKA = dict(type='FCKALoss', loss_weight=5.0)
LCKA = dict(type='LCKALoss', loss_weight=5.0, inter_weight=5.0)
FEATURE_MAPPING = dict(
    preds_S=dict(from_student=True, recorder='feat', data_idx=-1),
    preds_T=dict(from_student=False, recorder='feat', data_idx=-1))
LOGIT_MAPPING = dict(
    preds_S=dict(from_student=True, recorder='logits'),
    preds_T=dict(from_student=False, recorder='logits'))
FEATURE_RECORDER = dict(type='ModuleOutputs', source='backbone')
LOGIT_RECORDER = dict(type='ModuleOutputs', source='head.fc')


def _name(path: str) -> str:
    return osp.relpath(path, RCKA_DIR)


@functools.lru_cache(maxsize=None)
def _load(path: str) -> Config:
    """The parsed config, once per path (the tests only read it)."""
    return Config.fromfile(path)


def _assert_distiller_is(distiller: Dict, method: str, lcka: Dict = LCKA) -> None:
    """The method's losses (alpha = beta = 5; ``lcka``, the LCKA loss config) and only
    the recorders it reads."""
    losses, mappings, recorders = {}, {}, {}
    if method in ('fcka', 'rcka'):
        losses['loss_fcka'] = FCKA
        mappings['loss_fcka'] = FEATURE_MAPPING
        recorders['feat'] = FEATURE_RECORDER
    if method in ('lcka', 'rcka'):
        losses['loss_lcka'] = lcka
        mappings['loss_lcka'] = LOGIT_MAPPING
        recorders['logits'] = LOGIT_RECORDER
    assert distiller.type == 'ConfigurableDistiller'
    assert distiller.distill_losses == losses
    assert distiller.loss_forward_mappings == mappings
    assert distiller.student_recorders == recorders
    assert distiller.teacher_recorders == recorders


def _assert_is_distillation(cfg: Config) -> None:
    assert cfg.model.type == 'SingleTeacherDistill'
    assert cfg.model._scope_ == 'mmrazor'
    assert cfg.model.data_preprocessor.type == 'mmpretrain.ClsDataPreprocessor'
    assert cfg.model.data_preprocessor.mean == cfg.data_preprocessor.mean
    assert cfg.val_cfg.type == 'mmrazor.SingleTeacherDistillValLoop'
    assert cfg.custom_imports == dict(
        imports=['mmrazor_relkd'], allow_failed_imports=False)


def _cifar_classifier(network: str) -> Dict:
    backbone, feat_channels = CIFAR_NETWORKS[network]
    return dict(
        _scope_='mmpretrain',
        type='ImageClassifier',
        backbone=backbone,
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='LinearClsHead',
            num_classes=100,
            in_channels=feat_channels,
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


def _assert_cifar_schedule(cfg: Config, lr: float) -> None:
    """App. B: batch 128, 240 epochs, SGD (momentum 0.9, wd 5e-4); CRD's steps."""
    assert cfg.train_dataloader.batch_size == 128
    assert cfg.train_dataloader.dataset.type == 'CIFAR100'
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=lr, momentum=0.9, weight_decay=5e-4)
    assert cfg.param_scheduler == dict(
        type='MultiStepLR', by_epoch=True, milestones=[150, 180, 210], gamma=0.1)
    assert cfg.train_cfg.max_epochs == 240
    assert cfg.auto_scale_lr.base_batch_size == 128
    assert cfg.default_hooks.checkpoint.interval == 10


def _imagenet_weights() -> Dict[str, str]:
    """``'resnet/resnet34_8xb32_in1k.py' -> checkpoint URL`` from mmpretrain's metafile."""
    metafile = osp.join(MMPRETRAIN_CONFIGS, 'resnet', 'metafile.yml')
    with open(metafile) as f:
        models = yaml.safe_load(f)['Models']
    return {
        entry['Config'].removeprefix('configs/'): entry['Weights']
        for entry in models if 'Weights' in entry
    }


def test_the_expected_configs_are_shipped():
    expected = (set(CIFAR_DISTILL) | set(CIFAR_TEACHERS) | set(IMAGENET)
                | {SHAPES_TEACHER, SHAPES_STUDENT, SHAPES_DISTILL})
    assert set(CONFIGS) == expected
    assert len(CIFAR_DISTILL) == 27 and len(CIFAR_TEACHERS) == 4


@pytest.mark.parametrize('path', sorted(CIFAR_DISTILL), ids=_name)
def test_cifar100_pair_has_the_paper_settings_and_its_teachers_checkpoint(path):
    method, teacher, student = CIFAR_DISTILL[path]
    cfg = _load(path)

    _assert_is_distillation(cfg)
    assert cfg.model.architecture == _cifar_classifier(student)
    assert cfg.model.teacher == _cifar_classifier(teacher)
    _assert_distiller_is(cfg.model.distiller, method)
    small_student = student in ('shufflenet-v1', 'mobilenet-v2-half')
    _assert_cifar_schedule(cfg, lr=0.01 if small_student else 0.1)
    # the last checkpoint that its teacher config writes to tools/train.py's
    # default work dir
    teacher_config = osp.join(RCKA_DIR, 'cifar100', 'teachers',
                              f'{teacher}_1xb128_cifar100.py')
    teacher_cfg = _load(teacher_config)
    stem = osp.splitext(osp.basename(teacher_config))[0]
    last_epoch = teacher_cfg.train_cfg.max_epochs
    assert cfg.model.teacher_ckpt == f'work_dirs/{stem}/epoch_{last_epoch}.pth'
    assert last_epoch % teacher_cfg.default_hooks.checkpoint.interval == 0
    assert teacher_cfg.model == cfg.model.teacher


@pytest.mark.parametrize('path', sorted(CIFAR_TEACHERS), ids=_name)
def test_cifar100_teacher_has_the_paper_settings(path):
    cfg = _load(path)

    assert cfg.model == _cifar_classifier(CIFAR_TEACHERS[path])
    _assert_cifar_schedule(cfg, lr=0.1)
    assert cfg.custom_imports.imports == ['mmrazor_relkd']


@pytest.mark.parametrize('path', sorted(IMAGENET), ids=_name)
def test_imagenet_pair_has_mmrazors_schedule_and_a_model_zoo_teacher(path):
    cfg = _load(path)

    _assert_is_distillation(cfg)
    _assert_distiller_is(cfg.model.distiller, 'rcka')
    teacher = IMAGENET[path]
    assert cfg.model.teacher == dict(
        cfg_path=f'mmpretrain::{teacher}', pretrained=False)
    assert osp.isfile(osp.join(MMPRETRAIN_CONFIGS, teacher))
    assert cfg.model.teacher_ckpt == _imagenet_weights()[teacher]
    # mmrazor's kd_logits_resnet34_resnet18_8xb32_in1k schedule
    assert cfg.train_dataloader.batch_size == 32
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 0.1, 0.9, 1e-4)
    assert cfg.param_scheduler.milestones == [30, 60, 90]
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.data_preprocessor.num_classes == 1000


def test_imagenet_students():
    resnet18, mobilenet = (_load(path) for path in sorted(IMAGENET))

    assert resnet18.model.architecture == dict(
        cfg_path='mmpretrain::resnet/resnet18_8xb32_in1k.py', pretrained=False)
    assert osp.isfile(
        osp.join(MMPRETRAIN_CONFIGS, 'resnet', 'resnet18_8xb32_in1k.py'))
    assert mobilenet.model.architecture.backbone == dict(type='MobileNetV1')
    assert mobilenet.model.architecture.head.in_channels == 1024
    assert mobilenet.model.architecture.head.num_classes == 1000


def test_shapes_trio_distills_the_teacher_config_into_the_student_config():
    teacher = _load(SHAPES_TEACHER)
    student = _load(SHAPES_STUDENT)
    distill = _load(SHAPES_DISTILL)

    _assert_is_distillation(distill)
    # 4 classes: the toy pair softens the logits (see the config's comment)
    _assert_distiller_is(distill.model.distiller, 'rcka', lcka=dict(LCKA, tau=4.0))
    assert distill.model.architecture == student.model
    assert distill.model.teacher == teacher.model
    assert teacher.model.backbone == dict(type='ResNetCIFAR6n2', depth=20)
    assert student.model.backbone == dict(type='ResNetCIFAR6n2', depth=8)
    assert student.model.head.num_classes == 4
    last_epoch = teacher.train_cfg.max_epochs
    assert distill.model.teacher_ckpt == (
        f'work_dirs/resnet20_1xb32_shapes/epoch_{last_epoch}.pth')
    # the same data and schedule for the student alone and the distilled one
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler',
                'train_cfg'):
        assert distill[key] == student[key], key
    assert distill.train_dataloader.dataset.data_root == 'data/shapes/'


@pytest.mark.parametrize('path', CONFIGS, ids=_name)
def test_config_runs_one_train_step(path):
    losses = run_one_train_step(path)

    if osp.basename(path).startswith(METHODS):
        method = osp.basename(path).split('_')[0]
        assert 'student.loss' in losses
        # w * (1 - CKA) with CKA in [0, 1]; LCKA has two terms of weight 5
        if method in ('fcka', 'rcka'):
            assert 0.0 <= losses['distill.loss_fcka'] <= 5.0
        if method in ('lcka', 'rcka'):
            assert 0.0 <= losses['distill.loss_lcka'] <= 10.0
        assert ('distill.loss_fcka' in losses) == (method != 'lcka')
        assert ('distill.loss_lcka' in losses) == (method != 'fcka')
    else:
        assert set(losses) == {'loss'}
