"""The patched ``SingleTeacherDistill.__init__`` takes mmrazor's whole signature,
positional arguments included (``OverhaulFeatureDistillation`` passes ``teacher_ckpt``
positionally), and notices when mmrazor's signature changes."""
import inspect

import pytest
import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from distill_algorithms import algorithm_cfg, classifier, save_weights
from mmrazor.models.algorithms import OverhaulFeatureDistillation, SingleTeacherDistill
from mmrazor.registry import MODELS
from mmrazor_algorithms import CASES
from mmrazor_relkd.models.distillers.teacher_loading import TeacherCheckpointMismatch

pytestmark = pytest.mark.usefixtures('single_thread')


def test_the_patch_binds_the_signature_it_was_written_for():
    """mmrazor 1.0.0's parameters; a change to them needs a look at the patch."""
    original = inspect.signature(SingleTeacherDistill.__init__.__wrapped__)
    assert list(original.parameters) == [
        'self', 'distiller', 'teacher', 'teacher_ckpt', 'teacher_trainable',
        'teacher_norm_eval', 'student_trainable', 'calculate_student_loss',
        'teacher_module_inplace', 'kwargs']
    ofd = inspect.signature(OverhaulFeatureDistillation.__init__)
    assert 'allow_random_teacher' not in ofd.parameters  # reaches the patch via kwargs


def _cfg_parts(tmp_path):
    cfg = algorithm_cfg('SingleTeacherDistill')
    path = save_weights(classifier(14), str(tmp_path / 'teacher.pth'), seed=2)
    return cfg, path


def test_positional_arguments_are_bound_as_mmrazor_binds_them(tmp_path):
    cfg, path = _cfg_parts(tmp_path)
    algorithm = SingleTeacherDistill(cfg['distiller'], cfg['teacher'], path, False, False,
                                     architecture=cfg['architecture'],
                                     data_preprocessor=cfg['data_preprocessor'])
    assert algorithm.teacher_trainable is False and algorithm.teacher_norm_eval is False
    saved = torch.load(path, weights_only=True)['state_dict']
    for key, value in algorithm.teacher.state_dict().items():
        assert torch.equal(value, saved[key]), key
    algorithm.init_weights()  # loaded from the positional teacher_ckpt: no refusal


def test_a_doubly_given_argument_fails_as_with_mmrazors_signature(tmp_path):
    cfg, path = _cfg_parts(tmp_path)
    with pytest.raises(TypeError, match="multiple values for argument 'teacher_ckpt'"):
        SingleTeacherDistill(cfg['distiller'], cfg['teacher'], path, teacher_ckpt=path,
                             architecture=cfg['architecture'])


def test_ofd_loads_its_teacher_checkpoint_strictly(tmp_path):
    config, _ = CASES['OverhaulFeatureDistillation']
    cfg = config(str(tmp_path))
    save_weights(classifier(14, num_classes=10), cfg['teacher_ckpt'])
    with pytest.raises(TeacherCheckpointMismatch, match=r'2 with another shape '
                       r'\(head\.fc\.weight: checkpoint \(10, 64\) vs teacher \(4, 64\)'):
        MODELS.build(cfg)
