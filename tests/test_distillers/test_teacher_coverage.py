"""A teacher has weights only when checkpoint loads have covered every one of its tensors
(each ensemble member, each data-free teacher, on its own): a ``Pretrained`` backbone
alone, one loaded ensemble member, or a ``Pretrained`` checkpoint that does not fit is
refused before training, naming the modules without weights. Teacher checkpoints load
through ``load_state_dict``, so the model's own loading hooks (mmpretrain's
position-embedding resizing, mmdet's ``rpn_head`` -> ``bbox_head`` renaming) run before
the strict check."""
import re

import pytest
import torch
from mmengine.config import Config

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from distill_algorithms import algorithm_cfg, classifier, save_weights
from mmrazor.registry import MODELS
from mmrazor_algorithms import CASES
from mmrazor_relkd.models.distillers.teacher_loading import (TeacherCheckpointMismatch,
                                                             load_teacher_checkpoint,
                                                             mark_loaded,
                                                             modules_without_weights)

pytestmark = pytest.mark.usefixtures('single_thread')

SINGLE_TEACHER = ('SingleTeacherDistill', 'FpnTeacherDistill', 'GNoRPDistill')
FIX = ("; distilling from a random or partly random teacher is almost always a mistake. "
       "Give the teacher's checkpoint (model.teacher_ckpt=...), or set "
       'model.allow_random_teacher=True if a random teacher is intended.')
SHAPES_DISTILLATION = 'configs/shapes/pcka_fpn_retina-r34_retina-r18-w32_shapes.py'
SHAPES_DETECTORS = 'configs/shapes/_base_/retinanet_fpn_shapes.py'


def _pretrained(path, prefix=None):
    return dict(type='Pretrained', checkpoint=str(path), prefix=prefix)


def _saved_state(path):
    return torch.load(path, weights_only=True)['state_dict']


@pytest.mark.parametrize('name', SINGLE_TEACHER)
def test_a_pretrained_backbone_alone_is_refused_naming_the_rest(name, tmp_path):
    """How mmdet / mmpretrain configs start from ImageNet weights: the backbone's
    init_cfg, the head left random."""
    path = save_weights(classifier(14), str(tmp_path / 'full.pth'), seed=3)
    cfg = algorithm_cfg(name)
    cfg['teacher']['backbone']['init_cfg'] = _pretrained(path, prefix='backbone.')
    with pytest.raises(RuntimeError) as error:
        MODELS.build(cfg).init_weights()
    assert str(error.value) == (
        f'{name}: no weights for teacher.head: no checkpoint (`teacher_ckpt` or a '
        'Pretrained init_cfg) loaded them' + FIX)

    algorithm = MODELS.build(dict(cfg, allow_random_teacher=True))
    algorithm.init_weights()
    saved = _saved_state(path)
    for key, value in algorithm.teacher.backbone.state_dict().items():
        assert torch.equal(value, saved[f'backbone.{key}']), key


def test_the_shapes_detector_with_an_imagenet_backbone_alone_is_refused(tmp_path):
    """The measured case: the PCKA shapes config, its teacher's backbone from a
    Pretrained init_cfg and no teacher_ckpt."""
    cfg = Config.fromfile(SHAPES_DISTILLATION)
    backbone = MODELS.build(dict(cfg.model.teacher.backbone, _scope_='mmdet'))
    torch.save(dict(state_dict=backbone.state_dict()), tmp_path / 'imagenet.pth')
    cfg.model.teacher.backbone.init_cfg = _pretrained(tmp_path / 'imagenet.pth')
    cfg.model.teacher_ckpt = None
    with pytest.raises(RuntimeError, match=re.escape(
            'FpnTeacherDistill: no weights for teacher.neck, teacher.bbox_head: no '
            'checkpoint (`teacher_ckpt` or a Pretrained init_cfg) loaded them')):
        MODELS.build(cfg.model).init_weights()


def test_a_pretrained_checkpoint_of_another_shape_is_refused(tmp_path):
    """mmengine's Pretrained init loads non-strictly: a 10-class checkpoint for the
    4-class teacher leaves its classifier random."""
    path = save_weights(classifier(14, num_classes=10), str(tmp_path / 'ten.pth'))
    cfg = algorithm_cfg('SingleTeacherDistill')
    cfg['teacher']['init_cfg'] = _pretrained(path)
    with pytest.raises(RuntimeError) as error:
        MODELS.build(cfg).init_weights()
    assert str(error.value) == (
        'SingleTeacherDistill: no weights for teacher.head: no checkpoint '
        '(`teacher_ckpt` or a Pretrained init_cfg) loaded them (2 tensors had another shape in the '
        'checkpoint: teacher.head.fc.weight: checkpoint (10, 64) vs teacher (4, 64), '
        'teacher.head.fc.bias: checkpoint (10,) vs teacher (4,))' + FIX)


def test_a_tensor_missing_from_a_pretrained_checkpoint_is_named(tmp_path):
    path = save_weights(classifier(14), str(tmp_path / 'full.pth'))
    checkpoint = torch.load(path, weights_only=True)
    del checkpoint['state_dict']['head.fc.bias']
    torch.save(checkpoint, path)
    cfg = algorithm_cfg('SingleTeacherDistill')
    cfg['teacher']['init_cfg'] = _pretrained(path)
    with pytest.raises(RuntimeError, match=r'^SingleTeacherDistill: no weights for '
                       r'teacher\.head\.fc\.bias: no checkpoint'):
        MODELS.build(cfg).init_weights()


def _ensemble(first_init_cfg, second_backbone_init_cfg=None):
    """The two-member ensemble, the first member with ``first_init_cfg``, the second's
    backbone with ``second_backbone_init_cfg``."""
    cfg = algorithm_cfg('TeacherEnsemble')
    first, second = cfg['teacher']['teachers']
    first['init_cfg'] = first_init_cfg
    second['backbone']['init_cfg'] = second_backbone_init_cfg
    return MODELS.build(cfg)


def test_an_ensemble_member_with_weights_does_not_hide_one_without(tmp_path):
    path = save_weights(classifier(14), str(tmp_path / 'first.pth'))
    algorithm = _ensemble(_pretrained(path))
    with pytest.raises(RuntimeError, match=re.escape(
            'SingleTeacherDistill: no weights for teacher.teachers.1: no checkpoint '
            "(`teacher_ckpt`, the ensemble's `checkpoints` or a Pretrained init_cfg) "
            'loaded them')) as error:
        algorithm.init_weights()
    assert ('Give the teacher\'s checkpoint (model.teacher_ckpt=..., or one per member '
            'in model.teacher.checkpoints=[...])') in str(error.value)


def test_each_ensemble_member_is_checked_for_every_module(tmp_path):
    first = save_weights(classifier(14), str(tmp_path / 'first.pth'))
    second = save_weights(classifier(8), str(tmp_path / 'second.pth'))
    algorithm = _ensemble(_pretrained(first), _pretrained(second, prefix='backbone.'))
    with pytest.raises(RuntimeError,
                       match=r'no weights for teacher\.teachers\.1\.head: '):
        algorithm.init_weights()


def test_modules_without_weights_names_the_largest_unloaded_modules():
    algorithm = torch.nn.Module()
    algorithm.teacher = MODELS.build(classifier(8))
    loaded = [key for key in algorithm.teacher.state_dict()
              if key.startswith('backbone.layer1.') or key == 'head.fc.weight']
    assert modules_without_weights(algorithm, 'teacher') == ['teacher']
    mark_loaded(algorithm.teacher, set(loaded))
    assert modules_without_weights(algorithm, 'teacher') == [
        'teacher.backbone.conv1', 'teacher.backbone.bn1', 'teacher.backbone.layer2',
        'teacher.backbone.layer3', 'teacher.head.fc.bias']
    mark_loaded(algorithm.teacher.backbone, {'conv1.weight', 'bn1.weight'})
    assert modules_without_weights(algorithm, 'teacher.backbone') == [
        'teacher.backbone.bn1.bias', 'teacher.backbone.bn1.running_mean',
        'teacher.backbone.bn1.running_var', 'teacher.backbone.layer2',
        'teacher.backbone.layer3']


def test_an_ensemble_loaded_whole_from_teacher_ckpt_has_weights(tmp_path):
    """One checkpoint of the whole ensemble (``teachers.<i>.*``) covers each member."""
    ensemble = MODELS.build(algorithm_cfg('TeacherEnsemble')['teacher'])
    torch.save(dict(state_dict=ensemble.state_dict()), tmp_path / 'ensemble.pth')
    cfg = algorithm_cfg('TeacherEnsemble', teacher_ckpt=str(tmp_path / 'ensemble.pth'))
    algorithm = MODELS.build(cfg)
    algorithm.init_weights()
    for key, value in algorithm.teacher.state_dict().items():
        assert torch.equal(value, ensemble.state_dict()[key]), key


def test_a_data_free_teacher_checkpoint_is_loaded_strictly(tmp_path):
    config, _ = CASES['DataFreeDistillation']
    cfg = config(str(tmp_path))
    save_weights(classifier(14, num_classes=10), cfg['teachers']['res']['ckpt_path'])
    with pytest.raises(TeacherCheckpointMismatch, match=re.escape(
            'with another shape (head.fc.weight: checkpoint (10, 64) vs teacher '
            '(4, 64)')):
        MODELS.build(cfg)


@pytest.mark.parametrize('name', ['DataFreeDistillation', 'DAFLDataFreeDistillation'])
def test_a_data_free_teacher_without_weights_is_refused_unless_allowed(name, tmp_path):
    config, _ = CASES[name]
    cfg = config(str(tmp_path))
    del cfg['teachers']['res']['ckpt_path']
    with pytest.raises(RuntimeError) as error:
        MODELS.build(cfg).init_weights()
    assert str(error.value) == (
        f"{name}: no weights for teachers.res: no checkpoint (a teacher's `ckpt_path` "
        'or a Pretrained init_cfg) loaded them; distilling from a random or partly '
        "random teacher is almost always a mistake. Give each teacher's checkpoint "
        '(model.teachers.<name>.ckpt_path=...), or set model.allow_random_teacher=True '
        'if a random teacher is intended.')
    MODELS.build(dict(cfg, allow_random_teacher=True)).init_weights()


def _tiny_vit(image_size):
    return dict(
        _scope_='mmpretrain', type='ImageClassifier',
        backbone=dict(type='VisionTransformer', img_size=image_size, patch_size=4,
                      arch=dict(embed_dims=8, num_layers=1, num_heads=2,
                                feedforward_channels=16)),
        head=dict(type='LinearClsHead', num_classes=4, in_channels=8,
                  loss=dict(type='CrossEntropyLoss')))


def test_the_teachers_loading_hooks_run_before_the_check(tmp_path):
    """mmpretrain's ViT resizes a checkpoint's position embedding to the model's
    image size in a load_state_dict pre-hook: a 32 px checkpoint fits a 16 px teacher."""
    from mmpretrain.models.utils import resize_pos_embed
    path = save_weights(_tiny_vit(32), str(tmp_path / 'vit32.pth'), seed=4)
    cfg = algorithm_cfg('SingleTeacherDistill', [path])
    cfg.update(teacher=_tiny_vit(16), distiller=dict(type='ConfigurableDistiller'))
    algorithm = MODELS.build(cfg)
    algorithm.init_weights()
    saved = _saved_state(path)
    expected = resize_pos_embed(saved['backbone.pos_embed'], (8, 8), (4, 4), 'bicubic', 1)
    torch.testing.assert_close(algorithm.teacher.backbone.pos_embed, expected,
                               rtol=0, atol=0)
    assert torch.equal(algorithm.teacher.head.fc.weight, saved['head.fc.weight'])


def test_mmdet_renames_a_two_stage_head_before_the_check(tmp_path):
    """mmdet's single-stage detectors load an RPN's ``rpn_head.*`` as their
    ``bbox_head.*`` (in ``_load_from_state_dict``): such a checkpoint fits."""
    detector = Config.fromfile(SHAPES_DETECTORS).student_model
    torch.manual_seed(6)
    source = MODELS.build(detector).state_dict()
    renamed = {key.replace('bbox_head.', 'rpn_head.', 1): value
               for key, value in source.items()}
    assert not any(key.startswith('bbox_head.') for key in renamed)
    torch.save(dict(state_dict=renamed), tmp_path / 'rpn.pth')
    teacher = MODELS.build(detector)
    load_teacher_checkpoint(teacher, str(tmp_path / 'rpn.pth'))
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, source[key]), key
