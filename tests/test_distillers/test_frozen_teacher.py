"""The teacher stays frozen: after a few training steps of every algorithm the plugin
ships or configures, the teacher's parameters and BatchNorm statistics are unchanged and
no teacher parameter has a gradient; with ``teacher_trainable=True`` it does train."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from distill_algorithms import ALGORITHMS, algorithm_cfg, batch, teacher_checkpoints
from mmrazor.registry import MODELS

pytestmark = pytest.mark.usefixtures('single_thread')

STEPS = 3


def _train(cfg):
    """``STEPS`` training steps, each ``train_step`` taken apart to look at the
    gradients between backward and step. Returns the algorithm, the teacher's and
    the student's states before training and the names of the teacher parameters
    that received a gradient."""
    algorithm = MODELS.build(cfg)
    algorithm.init_weights()
    before = {k: v.clone() for k, v in algorithm.teacher.state_dict().items()}
    student = {k: v.clone() for k, v in algorithm.student.state_dict().items()}
    optim_wrapper = build_optim_wrapper(algorithm, dict(
        optimizer=dict(type='SGD', lr=0.1, momentum=0.9)))
    algorithm.train()
    with_grad = set()
    for step in range(STEPS):
        data = algorithm.data_preprocessor(batch(step), True)
        loss, log_vars = algorithm.parse_losses(algorithm(**data, mode='loss'))
        assert log_vars['distill.loss_fkd'] > 0  # the teacher is used
        optim_wrapper.backward(loss)
        with_grad |= {name for name, param in algorithm.teacher.named_parameters()
                      if param.grad is not None}
        assert algorithm.student.head.fc.weight.grad is not None
        optim_wrapper.step()
        optim_wrapper.zero_grad()
    return algorithm, before, student, with_grad


@pytest.mark.parametrize('name', ALGORITHMS)
def test_teacher_parameters_and_bn_statistics_are_unchanged(name, tmp_path):
    algorithm, before, student, with_grad = _train(
        algorithm_cfg(name, teacher_checkpoints(name, tmp_path)))
    assert not with_grad
    after = algorithm.teacher.state_dict()
    assert any('running_mean' in key for key in after)
    for key, value in after.items():
        assert torch.equal(value, before[key]), key
    assert not any(param.requires_grad for param in algorithm.teacher.parameters())
    trained = algorithm.student.state_dict()
    assert not torch.equal(trained['head.fc.weight'], student['head.fc.weight'])


def test_a_trainable_teacher_trains(tmp_path):
    cfg = algorithm_cfg('SingleTeacherDistill',
                        teacher_checkpoints('SingleTeacherDistill', tmp_path),
                        teacher_trainable=True, teacher_norm_eval=False)
    algorithm, before, _, with_grad = _train(cfg)
    after = algorithm.teacher.state_dict()
    assert not torch.equal(after['head.fc.weight'], before['head.fc.weight'])
    assert not torch.equal(after['backbone.bn1.running_mean'],
                           before['backbone.bn1.running_mean'])
    assert with_grad == {name for name, _ in algorithm.teacher.named_parameters()}
