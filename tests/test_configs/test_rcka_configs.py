"""The RCKA classification configs of ``configs/rcka/`` (Zhou et al., IJCAI 2024,
Tab. 1, Tab. 2, App. B): the paper's pairs and settings, teachers the distillation
configs can load, and one training step of every config on a tiny synthetic batch."""
import functools
import glob
import os.path as osp
from typing import Dict

import pytest
import torch
import yaml

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
import mmpretrain
from mmengine.config import Config

from config_smoke import run_one_train_step

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

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

FCKA = dict(type='FCKALoss', loss_weight=5.0)  # alpha 5: App. B (no FCKA released)
LCKA = dict(type='LCKALoss', loss_weight=5.0, inter_weight=5.0)  # App. B (ImageNet)
# CIFAR-100: released icme_main.py CenterKernelAlignmentRKD(inter=15, intra=15)
LCKA_CIFAR = dict(type='LCKALoss', loss_weight=15.0, inter_weight=15.0)
# released icme_main.py: flip, ColorJitter(.1 x 4), AutoAugment(CIFAR10), rotation 5
RELEASED_CIFAR_AUGMENTATION = [
    'RandomFlip', 'NumpyToPIL', 'torchvision/ColorJitter', 'PILToNumpy', 'AutoAugment',
    'NumpyToPIL', 'torchvision/RandomRotation', 'PILToNumpy', 'PackInputs']
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
    """The method's losses (FCKA alpha = 5; ``lcka``, the LCKA loss config) and only
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


def _assert_cifar_schedule(cfg: Config, lr: float, warmup_to: float = None) -> None:
    """Released code (Klayand/Distill_Knowledge) = App. B: batch 128, SGD (momentum
    0.9, wd 5e-4) with Nesterov (default_optimizer.py; paper silent), ALRS
    (scheduler/ALRS.py defaults; App. B); 240 epochs (App. B; code: CLI value);
    the released augmentation (icme_main.py; paper silent)."""
    assert cfg.train_dataloader.batch_size == 128
    assert cfg.train_dataloader.dataset.type == 'CIFAR100'
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    expected_scheduler = dict(type='ALRSLR', warmup_epochs=30, decay=0.97,
                              abs_threshold=0.01, rel_threshold=0.01)
    if warmup_to is not None:
        expected_scheduler['max_value'] = warmup_to
    assert cfg.param_scheduler == expected_scheduler
    assert cfg.train_cfg.max_epochs == 240
    assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=128)
    assert cfg.default_hooks.checkpoint.interval == 10
    pipeline = cfg.train_dataloader.dataset.pipeline
    assert [t.type for t in pipeline] == RELEASED_CIFAR_AUGMENTATION
    assert pipeline[2] == dict(type='torchvision/ColorJitter', brightness=0.1,
                               contrast=0.1, saturation=0.1, hue=0.1)
    assert pipeline[3] == dict(type='PILToNumpy', to_bgr=True)  # mmcv ops: BGR
    assert pipeline[4] == cfg.autoaugment_cifar10
    assert pipeline[6] == dict(type='torchvision/RandomRotation', degrees=5)


@functools.lru_cache(maxsize=None)
def _mmpretrain_model(config: str) -> Dict:
    """The model dict of an installed mmpretrain config."""
    return Config.fromfile(osp.join(MMPRETRAIN_CONFIGS, config)).model.to_dict()


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
    _assert_distiller_is(cfg.model.distiller, method, lcka=LCKA_CIFAR)
    # released Solver.py: teacher.train() during distillation (BN batch statistics)
    assert cfg.model.teacher_norm_eval is False
    # released Solver.py: MobileNet starts at 0.01, ALRS warms every student to 0.1;
    # ShuffleNet starts at 0.1 like the others
    if student == 'mobilenet-v2-half':
        _assert_cifar_schedule(cfg, lr=0.01, warmup_to=0.1)
    else:
        _assert_cifar_schedule(cfg, lr=0.1)
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


def test_autoaugment_is_torchvisions_cifar10_policy():
    """The written-out policy: torchvision's CIFAR-10 sub-policies, probabilities and
    magnitudes (its 10-bin augmentation space), signs, fill 0, nearest."""
    from torchvision.transforms import AutoAugment, AutoAugmentPolicy
    reference = AutoAugment(AutoAugmentPolicy.CIFAR10)
    size = 331  # translate: torchvision's pixels / size = mmpretrain's fraction
    space = reference._augmentation_space(10, (size, size))
    ours = _load(sorted(CIFAR_TEACHERS)[0]).autoaugment_cifar10
    assert ours.type == 'AutoAugment'
    assert len(ours.policies) == len(reference.policies) == 25
    names = dict(ShearX='Shear', ShearY='Shear', TranslateX='Translate',
                 TranslateY='Translate', Rotate='Rotate', Color='ColorTransform',
                 Contrast='Contrast', Brightness='Brightness', Sharpness='Sharpness',
                 Posterize='Posterize', Solarize='Solarize',
                 AutoContrast='AutoContrast', Equalize='Equalize', Invert='Invert')
    for sub_ours, sub_reference in zip(ours.policies, reference.policies):
        assert len(sub_ours) == len(sub_reference)
        for op, (name, prob, level) in zip(sub_ours, sub_reference):
            assert (op.type, op.prob) == (names[name], prob)
            magnitudes, signed = space[name]
            assert op.get('random_negative_prob', 0.0) == (0.5 if signed else 0.0)
            if level is None:
                assert set(op) == {'type', 'prob'}
                continue
            value = dict(Shear=op.get('magnitude'), Rotate=op.get('angle'),
                         Posterize=op.get('bits'), Solarize=op.get('thr'),
                         Translate=op.get('magnitude', 0) * size).get(
                             op.type, op.get('magnitude'))
            assert value == pytest.approx(float(magnitudes[level]), abs=1e-4), name
            if op.type in ('Shear', 'Translate', 'Rotate'):
                assert (op.pad_val, op.interpolation) == (0, 'nearest')
            if op.type in ('Shear', 'Translate'):
                assert op.direction == ('horizontal' if name.endswith('X')
                                        else 'vertical')


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
    assert cfg.model.teacher == dict(_scope_='mmpretrain', **_mmpretrain_model(teacher))
    assert cfg.model.teacher_ckpt == _imagenet_weights()[teacher]
    # mmrazor's kd_logits_resnet34_resnet18_8xb32_in1k schedule
    assert cfg.train_dataloader.batch_size == 32
    optimizer = cfg.optim_wrapper.optimizer
    assert (optimizer.type, optimizer.lr, optimizer.momentum,
            optimizer.weight_decay) == ('SGD', 0.1, 0.9, 1e-4)
    assert cfg.param_scheduler.milestones == [30, 60, 90]
    assert cfg.train_cfg.max_epochs == 100
    assert cfg.data_preprocessor.num_classes == 1000
    assert cfg.auto_scale_lr == dict(enable=False, base_batch_size=256)
    assert cfg.model.get('teacher_norm_eval', True) is True  # mmrazor's default


def test_imagenet_students():
    resnet18, mobilenet = (_load(path) for path in sorted(IMAGENET))

    assert resnet18.model.architecture == dict(
        _scope_='mmpretrain', **_mmpretrain_model('resnet/resnet18_8xb32_in1k.py'))
    assert mobilenet.model.architecture.backbone == dict(type='MobileNetV1')
    assert mobilenet.model.architecture.head.in_channels == 1024
    assert mobilenet.model.architecture.head.num_classes == 1000


def test_shapes_trio_distills_the_teacher_config_into_the_student_config():
    teacher = _load(SHAPES_TEACHER)
    student = _load(SHAPES_STUDENT)
    distill = _load(SHAPES_DISTILL)

    _assert_is_distillation(distill)
    # few classes: the toy pair softens the logits (see the config's comment)
    _assert_distiller_is(distill.model.distiller, 'rcka', lcka=dict(LCKA, tau=4.0))
    assert distill.model.architecture == student.model
    assert distill.model.teacher == teacher.model
    assert teacher.model.backbone == dict(type='ResNetCIFAR6n2', depth=20)
    assert student.model.backbone == dict(type='ResNetCIFAR6n2', depth=8)
    assert student.model.head.num_classes == len(student.classes)
    # the last checkpoint of the teacher config's default work dir
    last_epoch = teacher.train_cfg.max_epochs
    assert distill.model.teacher_ckpt.endswith(
        f'work_dirs/resnet20_1xb32_shapes/epoch_{last_epoch}.pth')
    # the same data and schedule for the student alone and the distilled one
    for key in ('train_dataloader', 'optim_wrapper', 'param_scheduler',
                'train_cfg'):
        assert distill[key] == student[key], key


@pytest.mark.parametrize('path', CONFIGS, ids=_name)
def test_config_runs_one_train_step(path):
    losses = run_one_train_step(path)

    if osp.basename(path).startswith(METHODS):
        method = osp.basename(path).split('_')[0]
        assert 'student.loss' in losses
        # w * (1 - CKA) with CKA in [0, 1]; LCKA has two terms of weight beta
        beta = 15.0 if path in CIFAR_DISTILL else 5.0
        if method in ('fcka', 'rcka'):
            assert 0.0 <= losses['distill.loss_fcka'] <= 5.0
        if method in ('lcka', 'rcka'):
            assert 0.0 <= losses['distill.loss_lcka'] <= 2 * beta
        assert ('distill.loss_fcka' in losses) == (method != 'lcka')
        assert ('distill.loss_lcka' in losses) == (method != 'fcka')
    else:
        assert set(losses) == {'loss'}


def test_derived_imagenet_config_changes_classes_and_data_of_both_models(tmp_path):
    """A user's config inheriting the ImageNet RCKA config sets 4 classes on student
    and teacher, an image-folder data root and its class names: the models and the
    data come out as asked (issue: with cfg_path the 1000-class heads stayed)."""
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import DATASETS
    from PIL import Image

    from config_smoke import build_model

    # folder mode: mmpretrain labels the sub-folders in sorted order
    classes = ['cross', 'ellipse', 'rectangle', 'triangle']
    for name in classes:
        (tmp_path / 'data' / name).mkdir(parents=True)
        Image.new('RGB', (40, 40), (10, 20, 30)).save(tmp_path / 'data' / name / '0.png')
    base = osp.join(RCKA_DIR, 'imagenet', 'rcka_resnet34_resnet18_8xb32_in1k.py')
    user_config = tmp_path / 'my_rcka.py'
    user_config.write_text(
        f'_base_ = [{base!r}]\n'
        f'classes = {classes!r}\n'
        'model = dict(architecture=dict(head=dict(num_classes=4)),\n'
        '             teacher=dict(head=dict(num_classes=4)),\n'
        '             data_preprocessor=dict(num_classes=4))\n'
        'train_dataloader = dict(dataset=dict(\n'
        f'    _delete_=True, type="CustomDataset", data_root={str(tmp_path / "data")!r},\n'
        '    classes=classes, pipeline=_base_.train_pipeline))\n')

    model = build_model(str(user_config))
    for classifier in (model.architecture, model.teacher):
        assert classifier.head.num_classes == 4
        assert classifier.head.fc.out_features == 4
    assert (model.architecture.backbone.depth, model.teacher.backbone.depth) == (18, 34)

    with DefaultScope.overwrite_default_scope('mmpretrain'):
        dataset = DATASETS.build(model.cfg.train_dataloader.dataset)
    assert list(dataset.metainfo['classes']) == classes
    assert len(dataset) == 4
    for i in range(4):
        info = dataset.get_data_info(i)
        assert classes[info['gt_label']] == osp.basename(osp.dirname(info['img_path']))
    assert dataset[0]['inputs'].shape == (3, 224, 224)


def test_released_cifar_augmentation_runs_on_a_cifar_image():
    """The train pipeline (PIL / numpy round trips included) turns a 32 x 32 RGB image
    into a 32 x 32 input, and every AutoAugment sub-policy runs."""
    import numpy as np
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope

    cfg = _load(sorted(CIFAR_TEACHERS)[0])
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        pipeline = Compose(cfg.train_dataloader.dataset.pipeline)
        for sub_policy in cfg.autoaugment_cifar10.policies:
            Compose([dict(op, prob=1.0) for op in sub_policy])(
                dict(img=image.copy()))
    outputs = [pipeline(dict(img=image.copy(), gt_label=3)) for _ in range(8)]
    for out in outputs:
        assert out['inputs'].shape == (3, 32, 32)
        assert out['inputs'].dtype == torch.uint8
        assert int(out['data_samples'].gt_label) == 3
    assert any(not torch.equal(out['inputs'], outputs[0]['inputs']) for out in outputs)
