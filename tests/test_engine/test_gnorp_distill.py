"""GNoRP (GradNorm ratio preservation): its Adam on log lambda, convergence of the
measured ratio on a toy model, logging, and the errors of GNoRPDistill."""
import math

import pytest
import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor.registry import MODELS
from mmrazor_relkd.models.distillers.gnorp_distill import GNoRPDistill, GNoRPWeight
from toy_classifier import ToyClassifier


pytestmark = pytest.mark.usefixtures('single_thread')


def _toy_data(seed: int, num: int = 32):
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(num, 6, generator=gen)
    labels = (inputs[:, 0] + 0.5 * inputs[:, 1] > 0).long() + (inputs[:, 2] > 1).long()
    return inputs, labels


def _algorithm(gnorp: dict, seed: int = 0, distill_losses=None, mappings=None):
    torch.manual_seed(seed)
    distill_losses = distill_losses or dict(
        loss_makd=dict(type='AffinityLoss', affinity='cs', normalize='l2', loss='sl1'))
    mappings = mappings or {name: dict(
        preds_S=dict(from_student=True, recorder='feat'),
        preds_T=dict(from_student=False, recorder='feat'))
        for name in distill_losses}
    return MODELS.build(dict(
        type='GNoRPDistill',
        allow_random_teacher=True,
        architecture=ToyClassifier(feat_dim=5, hidden=16),
        teacher=ToyClassifier(feat_dim=8, hidden=16),
        distiller=dict(
            type='ConfigurableDistiller',
            student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck'),
                                   hidden=dict(type='ModuleOutputs', source='backbone.0')),
            teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
            distill_losses=distill_losses,
            loss_forward_mappings=mappings),
        gnorp=gnorp))


def _grad_norm_at(loss, feature):
    (grad,) = torch.autograd.grad(loss, feature, retain_graph=True)
    return grad.norm()


def test_weight_is_adam_on_log_lambda():
    """GNoRPWeight's update equals torch.optim.Adam minimising Eq. 15 over s."""
    gen = torch.Generator().manual_seed(0)
    norms = torch.rand(25, 2, generator=gen, dtype=torch.float64) + 0.1
    weight = GNoRPWeight(ratio=2.0, lr=0.03, init_lambda=0.5).double()
    s = weight.log_lambda.clone().requires_grad_(True)
    assert s.item() == pytest.approx(math.log(0.5))
    adam = torch.optim.Adam([s], lr=0.03)
    for g_main, g_kd in norms:
        lam, ratio = weight(g_main, g_kd)
        adam.zero_grad()
        ((2.0 * g_main - s.exp() * g_kd) ** 2).backward()
        adam.step()
        torch.testing.assert_close(weight.log_lambda, s.detach(), rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(lam, s.detach().exp())
        torch.testing.assert_close(ratio, s.detach().exp() * g_kd / g_main)


def test_weight_without_init_solves_first_batch_exactly():
    weight = GNoRPWeight(ratio=3.5)
    lam, ratio = weight(torch.tensor(0.2), torch.tensor(0.004))
    torch.testing.assert_close(lam, torch.tensor(3.5 * 0.2 / 0.004))
    torch.testing.assert_close(ratio, torch.tensor(3.5))
    state = weight.state_dict()
    assert set(state) == {'log_lambda', 'initialized', 'exp_avg', 'exp_avg_sq', 'step'}
    assert bool(state['initialized']) and state['step'].item() == 0  # no Adam step yet
    lam, ratio = weight(torch.tensor(0.2), torch.tensor(0.002))  # now Adam tracks
    assert state['step'].item() == 1 and lam > 3.5 * 0.2 / 0.004 and ratio < 3.5


def _train_with_gnorp(fixed_batch: bool, steps: int = 200):
    """Train the toy student with GNoRP (r = 3.5, starting from lambda = 1, far from
    the balance); returns the logged ratios and lambdas."""
    algorithm = _algorithm(dict(ratio=3.5, lr=0.05, init_lambda=1.0,
                                feature=dict(recorder='feat')))
    optimizer = torch.optim.SGD(algorithm.student.parameters(), lr=0.01, momentum=0.9)
    ratios, lambdas = [], []
    for step in range(steps):
        inputs, labels = _toy_data(0 if fixed_batch else step, num=64)
        losses = algorithm.loss(inputs, labels)
        z = algorithm.distiller.get_record('feat', from_student=True)
        true_ratio = (_grad_norm_at(losses['distill.loss_makd'], z)
                      / _grad_norm_at(losses['student.loss'], z))
        torch.testing.assert_close(losses['gnorp.ratio'], true_ratio, rtol=1e-4, atol=0)
        ratios.append(losses['gnorp.ratio'].item())
        lambdas.append(losses['gnorp.lambda'].item())
        optimizer.zero_grad()
        (losses['student.loss'] + losses['distill.loss_makd']).backward()
        optimizer.step()
    return ratios, lambdas


def test_measured_ratio_converges_to_r_on_toy_model():
    """Full-batch training: the measured ||d(lambda L_KD)/dz|| / ||dL_main/dz|| (checked
    against autograd every step) reaches r = 3.5 and stays within 10% of it while the
    student keeps training; lambda stays positive."""
    ratios, lambdas = _train_with_gnorp(fixed_batch=True)
    assert abs(ratios[0] - 3.5) / 3.5 > 0.5  # it did start far from r
    assert all(lam > 0 for lam in lambdas)
    assert max(abs(r - 3.5) / 3.5 for r in ratios[-30:]) < 0.1


def test_measured_ratio_is_r_on_average_with_minibatch_noise():
    """With a new batch every step the ratio of each batch scatters around r (one Adam
    step per batch cannot follow batch-to-batch noise, as in the paper); its running
    mean is within 10% of r."""
    ratios, lambdas = _train_with_gnorp(fixed_batch=False)
    assert all(lam > 0 for lam in lambdas)
    assert abs(sum(ratios[-50:]) / 50 - 3.5) / 3.5 < 0.1


def test_losses_scaled_logged_and_not_summed():
    algorithm = _algorithm(dict(ratio=1.0, feature=dict(recorder='feat')),
                           distill_losses=dict(
                               loss_makd=dict(type='AffinityLoss'),
                               loss_fkd=dict(type='FKDLoss', kernel='linear')))
    inputs, labels = _toy_data(0)
    losses = algorithm.loss(inputs, labels)
    z = algorithm.distiller.get_record('feat', from_student=True)
    plain = super(GNoRPDistill, algorithm).loss(inputs, labels)
    lam = losses['gnorp.lambda']
    for key in ('distill.loss_makd', 'distill.loss_fkd'):
        torch.testing.assert_close(losses[key], lam * plain[key])
    torch.testing.assert_close(losses['student.loss'], plain['student.loss'])
    # init_lambda=None: the summed distillation gradient is exactly r times the task one
    kd = losses['distill.loss_makd'] + losses['distill.loss_fkd']
    torch.testing.assert_close(_grad_norm_at(kd, z),
                               _grad_norm_at(losses['student.loss'], z), rtol=1e-5, atol=0)
    total, log_vars = algorithm.parse_losses(losses)
    torch.testing.assert_close(total, losses['student.loss'] + kd)
    assert 'gnorp.lambda' in log_vars and 'gnorp.ratio' in log_vars


def test_only_selected_losses_are_weighted():
    algorithm = _algorithm(dict(ratio=2.0, losses=['loss_fkd'],
                                feature=dict(recorder='feat')),
                           distill_losses=dict(loss_makd=dict(type='AffinityLoss'),
                                               loss_fkd=dict(type='FKDLoss')))
    inputs, labels = _toy_data(1)
    losses = algorithm.loss(inputs, labels)
    plain = super(GNoRPDistill, algorithm).loss(inputs, labels)
    torch.testing.assert_close(losses['distill.loss_makd'], plain['distill.loss_makd'])
    torch.testing.assert_close(losses['distill.loss_fkd'],
                               losses['gnorp.lambda'] * plain['distill.loss_fkd'])
    torch.testing.assert_close(losses['gnorp.ratio'], torch.tensor(2.0))


def test_stopped_distillation_skips_gnorp():
    algorithm = _algorithm(dict(feature=dict(recorder='feat')))
    algorithm.distillation_stopped = True
    losses = algorithm.loss(*_toy_data(2))
    assert set(losses) == {'student.loss'}
    assert not bool(algorithm.gnorp.initialized)


@pytest.mark.parametrize('gnorp,match', [
    (dict(ratio=1.0), r"needs gnorp\['feature'\]"),
    (dict(feature=dict(recorder='logits')), "'logits' is not a student recorder"),
    (dict(feature=dict(recorder='feat'), losses=['loss_kd']),
     r"\['loss_kd'\] are not distillation losses"),
    (dict(feature=dict(recorder='feat'), ratio=0.0), 'ratio > 0'),
    (dict(feature=dict(recorder='feat'), init_lambda=-1.0), 'init_lambda must be positive'),
])
def test_bad_config_raises(gnorp, match):
    with pytest.raises(ValueError, match=match):
        _algorithm(gnorp)


def test_feature_unrelated_to_the_losses_raises():
    """A feature upstream of both losses works; the neck output, downstream of the
    hidden layer the distillation loss reads, gets no distillation gradient: an
    error that names the fix."""
    algorithm = _algorithm(dict(feature=dict(recorder='hidden')))
    algorithm.loss(*_toy_data(3))  # both losses depend on the first hidden layer
    unrelated = _algorithm(dict(feature=dict(recorder='feat')),
                           distill_losses=dict(loss_makd=dict(type='AffinityLoss')),
                           mappings=dict(loss_makd=dict(
                               preds_S=dict(from_student=True, recorder='hidden'),
                               preds_T=dict(from_student=False, recorder='feat'))))
    with pytest.raises(ValueError, match='distillation loss does not depend'):
        unrelated.loss(*_toy_data(4))


def test_runner_logs_lambda_and_ratio_every_iteration(tmp_path):
    """Through mmengine's Runner the two values reach the message hub (and the log)
    as train/gnorp.lambda and train/gnorp.ratio at every iteration."""
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner
    from torch.utils.data import DataLoader

    inputs, labels = _toy_data(0, num=24)
    samples = [dict(inputs=x, data_samples=y) for x, y in zip(inputs, labels)]
    # the Runner sets a global default scope: restore the previous one afterwards
    with DefaultScope.overwrite_default_scope('mmrazor'):
        runner = Runner(
            model=_algorithm(dict(ratio=2.0, feature=dict(recorder='feat'))),
            work_dir=str(tmp_path),
            train_dataloader=DataLoader(samples, batch_size=8),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            train_cfg=dict(by_epoch=False, max_iters=3),
            default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
            default_scope='mmrazor',
            experiment_name='gnorp_toy')
        runner.train()
    hub = runner.message_hub
    lambdas, _ = hub.get_scalar('train/gnorp.lambda').data
    ratios, _ = hub.get_scalar('train/gnorp.ratio').data
    assert len(lambdas) == len(ratios) == 3 and (lambdas > 0).all()
    assert abs(ratios[0] - 2.0) < 1e-3  # solved on the first batch
