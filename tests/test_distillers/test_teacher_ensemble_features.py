"""``TeacherEnsemble.feature_index`` on teachers whose ``extract_feat`` returns several
stages (of different widths): the chosen stage of every teacher, or all of them."""
from typing import Sequence

import pytest
import torch
from mmengine.model import BaseModel
from torch import nn

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor.registry import MODELS
from mmrazor_relkd.models.distillers.teacher_ensemble import TeacherEnsemble
from mmrazor_relkd.models.losses.fkd_loss import FKDLoss
from toy_classifier import ToyClassifier

IN_DIM = 6


class StagedTeacher(BaseModel):
    """A chain of tanh(linear) stages; ``extract_feat`` returns every stage's output,
    like an OpenMMLab backbone with several ``out_indices``."""

    def __init__(self, widths: Sequence[int], seed: int) -> None:
        super().__init__()
        torch.manual_seed(seed)
        sizes = [IN_DIM, *widths]
        self.stages = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def extract_feat(self, inputs):
        outputs, x = [], inputs
        for stage in self.stages:
            x = torch.tanh(stage(x))
            outputs.append(x)
        return tuple(outputs)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        raise AssertionError('TeacherEnsemble must only call extract_feat')


def _teachers():
    return [StagedTeacher((3, 5, 7), seed=0), StagedTeacher((4, 2, 6), seed=1)]


def _inputs():
    return torch.randn(8, IN_DIM, generator=torch.Generator().manual_seed(2))


@pytest.mark.parametrize('feature_index,widths', [
    (0, [3, 4]), (1, [5, 2]), (2, [7, 6]), (-1, [7, 6]), (-2, [5, 2])])
def test_feature_index_picks_that_stage_of_every_teacher(feature_index, widths):
    teachers = _teachers()
    inputs = _inputs()
    features = TeacherEnsemble(teachers, feature_index=feature_index)(inputs)
    assert [tuple(f.shape) for f in features] == [(8, width) for width in widths]
    for teacher, feature in zip(teachers, features):
        torch.testing.assert_close(feature, teacher.extract_feat(inputs)[feature_index],
                                   rtol=0, atol=0)


def test_default_is_the_last_stage():
    teachers = _teachers()
    inputs = _inputs()
    features = TeacherEnsemble(teachers)(inputs)
    for teacher, feature in zip(teachers, features):
        torch.testing.assert_close(feature, teacher.extract_feat(inputs)[-1], rtol=0,
                                   atol=0)


def test_none_returns_every_stage():
    teachers = _teachers()
    inputs = _inputs()
    features = TeacherEnsemble(teachers, feature_index=None)(inputs)
    assert [[tuple(s.shape) for s in f] for f in features] == \
        [[(8, 3), (8, 5), (8, 7)], [(8, 4), (8, 2), (8, 6)]]
    for teacher, stages in zip(teachers, features):
        for stage, expected in zip(stages, teacher.extract_feat(inputs)):
            torch.testing.assert_close(stage, expected, rtol=0, atol=0)


class BareTensorTeacher(StagedTeacher):
    """A teacher whose ``extract_feat`` returns its last stage as a bare tensor."""

    def extract_feat(self, inputs):
        return super().extract_feat(inputs)[-1]


def test_a_bare_tensor_is_returned_whole():
    teacher = BareTensorTeacher((5, 3), seed=3)
    inputs = _inputs()
    (feature, ) = TeacherEnsemble([teacher], feature_index=0)(inputs)
    assert feature.shape == (8, 3)
    torch.testing.assert_close(feature, teacher.extract_feat(inputs), rtol=0, atol=0)


def test_distillation_uses_the_chosen_stage(tmp_path):
    """Through mmrazor's distiller: FKD compares the student with stage 1 of each
    teacher (loaded from checkpoints), not with their last stage."""
    teachers = _teachers()
    checkpoints = []
    for index, teacher in enumerate(teachers):
        checkpoints.append(str(tmp_path / f'teacher{index}.pth'))
        torch.save(dict(state_dict=teacher.state_dict()), checkpoints[-1])
    torch.manual_seed(4)
    algorithm = MODELS.build(dict(
        type='SingleTeacherDistill',
        architecture=ToyClassifier(feat_dim=4, num_classes=3),
        teacher=dict(type='TeacherEnsemble', feature_index=1,
                     teachers=_teachers(), checkpoints=checkpoints),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
            teacher_recorders=dict(feats=dict(type='ModuleOutputs', source='')),
            distill_losses=dict(loss_fkd=dict(type='FKDLoss')),
            loss_forward_mappings=dict(loss_fkd=dict(
                preds_S=dict(from_student=True, recorder='feat'),
                preds_T=dict(from_student=False, recorder='feats'))))))
    inputs = _inputs()
    losses = algorithm.loss(inputs, torch.arange(8) % 3)
    student_feat = algorithm.student.extract_feat(inputs)[-1]
    with torch.no_grad():
        stages = [t.extract_feat(inputs) for t in teachers]
    expected = FKDLoss()(student_feat, [s[1] for s in stages])
    torch.testing.assert_close(losses['distill.loss_fkd'], expected)
    last_stage = FKDLoss()(student_feat, [s[-1] for s in stages])
    assert (last_stage - expected).abs() > 1e-3  # the stage does change the loss
