"""The teacher is the teacher: a teacher checkpoint that does not fit raises before
training (file, counts, first keys), extra keys only with the documented option, and a
distillation without any teacher weights raises unless ``allow_random_teacher=True``,
for every algorithm the plugin ships or configures."""
import re

import pytest
import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from distill_algorithms import (ALGORITHMS, algorithm_cfg, classifier, save_weights,
                                teacher_checkpoints)
from mmrazor.registry import MODELS
from mmrazor_relkd.models.distillers.teacher_loading import (TeacherCheckpointMismatch,
                                                             load_teacher_checkpoint)

pytestmark = pytest.mark.usefixtures('single_thread')


def _teacher_models(algorithm):
    """The teacher model(s) the checkpoint(s) of :func:`teacher_checkpoints` are for."""
    teacher = algorithm.teacher
    return list(teacher.teachers) if hasattr(teacher, 'teachers') else [teacher]


@pytest.mark.parametrize('name', ALGORITHMS)
def test_fitting_checkpoints_are_loaded_exactly(name, tmp_path):
    checkpoints = teacher_checkpoints(name, str(tmp_path))
    algorithm = MODELS.build(algorithm_cfg(name, checkpoints))
    algorithm.init_weights()  # must neither raise nor overwrite the loaded teacher
    for model, path in zip(_teacher_models(algorithm), checkpoints):
        saved = torch.load(path, weights_only=True)['state_dict']
        own = model.state_dict()
        assert own.keys() == saved.keys()
        for key, value in saved.items():
            assert torch.equal(own[key], value), key


def _bad_checkpoints(name, directory, bad):
    """Fitting checkpoints, except the last one, which is ``bad``'s."""
    checkpoints = teacher_checkpoints(name, directory)
    checkpoints[-1] = save_weights(bad, f'{directory}/bad.pth')
    return checkpoints


@pytest.mark.parametrize('name', ALGORITHMS)
def test_shape_mismatch_raises_with_file_counts_and_keys(name, tmp_path):
    """A 10-class checkpoint for the 4-class teacher."""
    depth = 8 if name == 'TeacherEnsemble' else 14
    checkpoints = _bad_checkpoints(name, str(tmp_path), classifier(depth, num_classes=10))
    with pytest.raises(TeacherCheckpointMismatch) as error:
        MODELS.build(algorithm_cfg(name, checkpoints))
    tensors = len(MODELS.build(classifier(depth)).state_dict())
    assert str(error.value) == (
        f"teacher checkpoint '{tmp_path}/bad.pth' does not fit the teacher "
        f'ImageClassifier ({tensors} tensors): 2 with another shape '
        f'(head.fc.weight: checkpoint (10, 64) vs teacher (4, 64), head.fc.bias: '
        f'checkpoint (10,) vs teacher (4,)). Give the checkpoint of a model built from '
        f"the teacher's config.")


@pytest.mark.parametrize('name', ALGORITHMS)
def test_missing_tensors_raise_with_the_first_keys(name, tmp_path):
    """A ResNet-8 checkpoint for a deeper teacher (ResNet-14 / ResNet-20)."""
    teacher_depth = 8 if name == 'TeacherEnsemble' else 14
    cfg = algorithm_cfg(name)
    if name == 'TeacherEnsemble':
        cfg['teacher']['teachers'][-1] = classifier(20)
        teacher_depth = 20
    checkpoints = _bad_checkpoints(name, str(tmp_path), classifier(8))
    if name == 'TeacherEnsemble':
        cfg['teacher']['checkpoints'] = checkpoints
    else:
        cfg['teacher_ckpt'] = checkpoints[0]
    with pytest.raises(TeacherCheckpointMismatch) as error:
        MODELS.build(cfg)
    teacher = MODELS.build(classifier(teacher_depth)).state_dict()
    saved = torch.load(checkpoints[-1], weights_only=True)['state_dict']
    missing = [k for k in teacher if k not in saved
               and not k.endswith('num_batches_tracked')]
    message = str(error.value)
    assert message.startswith(
        f"teacher checkpoint '{tmp_path}/bad.pth' does not fit the teacher "
        f'ImageClassifier ({len(teacher)} tensors): {len(missing)} missing from the '
        f'checkpoint ({", ".join(missing[:5])}, ...)')
    assert 'set teacher_ckpt_ignore_unexpected' not in message


@pytest.mark.parametrize('name', ALGORITHMS)
def test_unexpected_keys_need_the_documented_option(name, tmp_path):
    """A ResNet-20 checkpoint for a shallower teacher: every teacher tensor is there,
    plus the deeper blocks."""
    depth = 8 if name == 'TeacherEnsemble' else 14
    checkpoints = _bad_checkpoints(name, str(tmp_path), classifier(26))
    option = ('ignore_unexpected_keys' if name == 'TeacherEnsemble'
              else 'teacher_ckpt_ignore_unexpected')
    with pytest.raises(TeacherCheckpointMismatch) as error:
        MODELS.build(algorithm_cfg(name, checkpoints))
    saved = torch.load(checkpoints[-1], weights_only=True)['state_dict']
    own = MODELS.build(classifier(depth)).state_dict()
    unexpected = [k for k in saved if k not in own]
    assert re.fullmatch(
        rf"teacher checkpoint '{tmp_path}/bad.pth' does not fit the teacher "
        rf'ImageClassifier \({len(own)} tensors\): {len(unexpected)} unexpected '
        rf'checkpoint keys \({re.escape(", ".join(unexpected[:5]))}, \.\.\.\)\. .*'
        rf'set {option}=True\.', str(error.value))

    cfg = algorithm_cfg(name, checkpoints)
    if name == 'TeacherEnsemble':
        cfg['teacher']['ignore_unexpected_keys'] = True
    else:
        cfg['teacher_ckpt_ignore_unexpected'] = True
    algorithm = MODELS.build(cfg)
    loaded = _teacher_models(algorithm)[-1].state_dict()
    for key, value in loaded.items():
        assert torch.equal(value, saved[key]), key


def test_nothing_is_loaded_from_a_mismatched_checkpoint(tmp_path):
    teacher = MODELS.build(classifier(8))
    before = {k: v.clone() for k, v in teacher.state_dict().items()}
    path = save_weights(classifier(8, num_classes=10), str(tmp_path / 'bad.pth'))
    with pytest.raises(TeacherCheckpointMismatch):
        load_teacher_checkpoint(teacher, path)
    for key, value in teacher.state_dict().items():
        assert torch.equal(value, before[key]), key


def test_ddp_prefixes_and_old_checkpoints_without_num_batches_tracked_load(tmp_path):
    source = MODELS.build(classifier(8))
    torch.nn.init.normal_(source.head.fc.weight)
    state = {f'module.{k}': v for k, v in source.state_dict().items()
             if not k.endswith('num_batches_tracked')}
    torch.save(dict(state_dict=state), tmp_path / 'ddp.pth')
    teacher = MODELS.build(classifier(8))
    load_teacher_checkpoint(teacher, str(tmp_path / 'ddp.pth'))
    assert torch.equal(teacher.head.fc.weight, source.head.fc.weight)


@pytest.mark.parametrize('name', ALGORITHMS)
def test_no_teacher_weights_raise_before_training_unless_allowed(name, tmp_path):
    algorithm = MODELS.build(algorithm_cfg(name))
    missing, sources = (
        ('teacher.teachers.0, teacher.teachers.1',
         "`teacher_ckpt`, the ensemble's `checkpoints` or a Pretrained init_cfg")
        if name == 'TeacherEnsemble' else ('teacher', '`teacher_ckpt` or a Pretrained '
                                                      'init_cfg'))
    with pytest.raises(RuntimeError, match=re.escape(
            f'{algorithm_cfg(name)["type"]}: no weights for {missing}: no checkpoint '
            f'({sources}) loaded them')) as error:
        algorithm.init_weights()
    assert 'model.allow_random_teacher=True' in str(error.value)
    MODELS.build(algorithm_cfg(name, allow_random_teacher=True)).init_weights()


def test_one_ensemble_member_without_checkpoint_is_named(tmp_path):
    checkpoints = teacher_checkpoints('TeacherEnsemble', str(tmp_path))
    algorithm = MODELS.build(algorithm_cfg('TeacherEnsemble', [checkpoints[0], None]))
    with pytest.raises(RuntimeError, match=r'no weights for teacher\.teachers\.1: no '
                       r"checkpoint \(`teacher_ckpt`, the ensemble's `checkpoints` or a "
                       r'Pretrained init_cfg\) loaded them'):
        algorithm.init_weights()


@pytest.mark.parametrize('name', ['SingleTeacherDistill', 'TeacherEnsemble'])
def test_a_pretrained_init_cfg_counts_as_teacher_weights_and_is_loaded(name, tmp_path):
    cfg = algorithm_cfg(name)
    teachers = cfg['teacher']['teachers'] if name == 'TeacherEnsemble' else [cfg['teacher']]
    paths = []
    for index, teacher in enumerate(teachers):
        paths.append(save_weights(dict(teacher), str(tmp_path / f'{index}.pth'), seed=3))
        teacher['init_cfg'] = dict(type='Pretrained', checkpoint=paths[-1])
    algorithm = MODELS.build(cfg)
    algorithm.init_weights()
    algorithm.init_weights()  # a second call initialises nothing; the check still passes
    for model, path in zip(_teacher_models(algorithm), paths):
        saved = torch.load(path, weights_only=True)['state_dict']
        for key, value in model.state_dict().items():
            assert torch.equal(value, saved[key]), key
