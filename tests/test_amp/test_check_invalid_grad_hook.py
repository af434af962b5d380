"""CheckInvalidGradHook in short real runs: a NaN or inf gradient stops training
before the step changes the weights, normal steps and the steps a GradScaler skips
go on, and the shipped shapes detection configs enable it. Its convolution check
refuses exactly the bfloat16 convolutions that oneDNN gets wrong on AVX-512 CPUs
(test_onednn_bf16_conv.py)."""
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Dict, List, Optional

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from mmengine.utils import digit_version
from mmrazor_relkd.engine.hooks import CheckInvalidGradHook, check_invalid_grad_hook

ROOT = Path(__file__).resolve().parents[2]
ITERS = 3
HUGE = 1e30  # finite, but its square overflows float32: the gradient norm is inf
pytestmark = pytest.mark.usefixtures('single_thread')


class Points(Dataset):
    """Eight fixed 3-d points."""

    def __init__(self) -> None:
        self.points = torch.arange(24, dtype=torch.float32).reshape(8, 3) / 24

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, idx: int) -> dict:
        return dict(inputs=self.points[idx])


class PoisonedLinear(BaseModel):
    """A linear layer trained towards 0 whose weight gradient gets ``value`` in its
    first column at the training iterations (counted from 1) listed in ``poison``,
    and whose loss is NaN at iteration ``nan_loss``."""

    def __init__(self, poison: Optional[Dict[int, float]] = None,
                 nan_loss: Optional[int] = None) -> None:
        super().__init__()
        self.linear = nn.Linear(3, 2)
        self.poison = poison or {}
        self.nan_loss = nan_loss
        self.iteration = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        weight = self.linear.weight
        if mode == 'loss':
            self.iteration += 1
            if self.iteration in self.poison:
                value = self.poison[self.iteration]
                weight = weight.clone()
                weight.register_hook(
                    lambda grad: grad.index_fill(1, torch.tensor([0]), value))
        outputs = F.linear(inputs, weight, self.linear.bias)
        if mode != 'loss':
            return outputs
        loss = outputs.pow(2).mean()
        return dict(loss=loss * math.nan if self.iteration == self.nan_loss else loss)


class RecordWeights(Hook):
    """The weight after every training iteration."""

    def __init__(self) -> None:
        self.weights: List[torch.Tensor] = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        self.weights.append(runner.model.linear.weight.detach().clone())


def run(tmp_path, model: PoisonedLinear, optim_wrapper,
        hook: bool = True) -> List[torch.Tensor]:
    """Train ``ITERS`` iterations; the weights after each one that completed (also
    when training raised: they are attached to the exception as ``weights``)."""
    record = RecordWeights()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        experiment_name=tmp_path.name,
        train_dataloader=dict(dataset=Points(), batch_size=2, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=ITERS),
        optim_wrapper=optim_wrapper,
        default_hooks=dict(checkpoint=None, logger=None),
        custom_hooks=[record] + ([CheckInvalidGradHook()] if hook else []),
        visualizer=dict(type='Visualizer', name=tmp_path.name),
        default_scope='mmengine')
    try:
        runner.train()
    except FloatingPointError as error:
        error.weights = record.weights
        raise
    return record.weights


def sgd(clip: bool) -> dict:
    return dict(optimizer=dict(type='SGD', lr=0.1),
                clip_grad=dict(max_norm=10.0) if clip else None)


@pytest.mark.parametrize('clip', [False, True], ids=['no-clip', 'clip-norm'])
def test_normal_steps_train(tmp_path, clip):
    weights = run(tmp_path, PoisonedLinear(), sgd(clip))
    assert len(weights) == ITERS
    assert all(not torch.equal(before, after)
               for before, after in zip(weights, weights[1:]))


@pytest.mark.parametrize('value', [math.nan, math.inf, -math.inf])
def test_non_finite_gradient_stops_before_the_step(tmp_path, value):
    model = PoisonedLinear(poison={2: value})
    with pytest.raises(FloatingPointError) as info:
        run(tmp_path, model, sgd(clip=False))
    message = str(info.value)
    assert 'iteration 2: NaN or inf gradients in linear.weight;' in message
    assert 'ONEDNN_MAX_CPU_ISA=AVX2' in message and 'pad_size_divisor' in message
    (after_first,) = info.value.weights
    assert torch.equal(model.linear.weight.detach(), after_first)  # no step taken


def test_names_at_most_the_first_parameters(tmp_path, monkeypatch):
    monkeypatch.setattr(check_invalid_grad_hook, 'MAX_NAMED_PARAMETERS', 1)
    with pytest.raises(FloatingPointError, match='iteration 1: NaN or inf gradients '
                       'in linear.weight and 1 more;'):
        run(tmp_path, PoisonedLinear(nan_loss=1), sgd(clip=False))


@pytest.mark.parametrize('value,norm',
                         [(math.nan, 'nan'), (math.inf, 'inf'), (HUGE, 'inf')],
                         ids=['nan', 'inf', 'huge-finite'])
def test_non_finite_gradient_norm_stops_before_clipped_step(tmp_path, value, norm):
    model = PoisonedLinear(poison={2: value})
    with pytest.raises(FloatingPointError) as info:
        run(tmp_path, model, sgd(clip=True))
    assert f'iteration 2: the gradient norm before clipping is {norm}' in str(info.value)
    assert len(info.value.weights) == 1
    assert torch.equal(model.linear.weight.detach(), info.value.weights[0])


def test_without_the_hook_a_huge_gradient_silently_skips_training(tmp_path):
    """What the hook prevents: clipping by an inf norm scales every gradient to 0."""
    weights = run(tmp_path, PoisonedLinear(poison={2: HUGE}), sgd(clip=True), hook=False)
    assert len(weights) == ITERS and torch.isfinite(torch.stack(weights)).all()
    assert torch.equal(weights[0], weights[1])  # iteration 2 trained nothing


def amp_wrapper(monkeypatch, model: nn.Module, clip: bool, fused: bool) -> OptimWrapper:
    """mmengine's AmpOptimWrapper with torch's CPU GradScaler (mmengine builds it only
    where a GPU is, so the availability check is patched for the construction)."""
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available', lambda: True)
    wrapper = amp_optimizer_wrapper.AmpOptimWrapper(
        optimizer=torch.optim.AdamW(model.parameters(), lr=0.1, fused=fused),
        clip_grad=dict(max_norm=10.0) if clip else None)
    wrapper.loss_scaler = torch.amp.GradScaler('cpu', init_scale=2.0**10)
    return wrapper


@pytest.mark.skipif(not hasattr(torch.amp, 'GradScaler'), reason='torch < 2.3: no CPU '
                    'GradScaler')
@pytest.mark.parametrize('fused', [
    False, pytest.param(True, marks=pytest.mark.skipif(
        digit_version(torch.__version__) < digit_version('2.4.0'),
        reason='torch < 2.4: no fused AdamW on the CPU'))], ids=['foreach', 'fused'])
@pytest.mark.parametrize('clip', [False, True], ids=['no-clip', 'clip-norm'])
def test_steps_the_loss_scaler_skips_go_on(tmp_path, monkeypatch, clip, fused):
    """fp16 dynamic loss scaling: an inf gradient makes the GradScaler skip the step
    (``found_inf``) and halve its scale; training goes on, not an error."""
    model = PoisonedLinear(poison={2: math.inf})
    wrapper = amp_wrapper(monkeypatch, model, clip, fused)
    weights = run(tmp_path, model, wrapper)
    assert len(weights) == ITERS and torch.isfinite(torch.stack(weights)).all()
    assert torch.equal(weights[0], weights[1])  # the skipped step
    assert not torch.equal(weights[1], weights[2])
    assert wrapper.loss_scaler.get_scale() == 2.0**9


@pytest.mark.skipif(not hasattr(torch.amp, 'GradScaler'), reason='torch < 2.3: no CPU '
                    'GradScaler')
def test_loss_scaler_does_not_skip_a_huge_finite_gradient(tmp_path, monkeypatch):
    """A finite gradient entry above about 1e19 makes the clipping norm inf, which the
    GradScaler does not see (it checks entries): the hook stops that step."""
    model = PoisonedLinear(poison={2: HUGE})
    with pytest.raises(FloatingPointError, match='gradient norm before clipping is inf'):
        run(tmp_path, model, amp_wrapper(monkeypatch, model, clip=True, fused=False))


def test_shapes_detection_configs_enable_it():
    for path in sorted(ROOT.glob('configs/shapes/*.py')):
        cfg = Config.fromfile(str(path))
        hook = cfg.default_hooks.check_invalid_grad
        assert hook == dict(type='CheckInvalidGradHook'), path


ON_AVX512 = (torch.backends.mkldnn.is_available()
             and torch.backends.cpu.get_cpu_capability().startswith('AVX512'))


def guarded_conv(conv: nn.Conv2d, **hook_args) -> CheckInvalidGradHook:
    """The hook's ``before_train`` on a model that is one convolution."""
    hook = CheckInvalidGradHook(**hook_args)
    optim_wrapper = OptimWrapper(torch.optim.SGD(conv.parameters(), lr=0.1))
    hook.before_train(SimpleNamespace(optim_wrapper=optim_wrapper, model=conv, iter=0))
    return hook


def strided_conv() -> nn.Conv2d:
    return nn.Conv2d(8, 4, 3, stride=2, padding=1)


@pytest.mark.skipif(not ON_AVX512, reason='oneDNN runs no AVX-512 bf16 kernels here')
@pytest.mark.parametrize('precision', ['autocast', 'bf16-model'])
def test_refuses_one_pixel_wide_bf16_convolution(monkeypatch, precision):
    monkeypatch.delenv('ONEDNN_MAX_CPU_ISA', raising=False)
    conv = strided_conv()
    inputs = torch.ones(2, 8, 3, 1)
    if precision == 'bf16-model':
        conv, inputs = conv.bfloat16(), inputs.bfloat16()
    hook = guarded_conv(conv)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=precision == 'autocast'):
        with pytest.raises(ValueError, match=r"convolution '' \(kernel \(3, 3\), "
                           r"stride \(2, 2\)\) gets an input 1 pixel wide, "
                           r"\(2, 8, 3, 1\)") as info:
            conv(inputs)
        assert 'ONEDNN_MAX_CPU_ISA=AVX2' in str(info.value)
        hook.after_train(None)
        conv(inputs)  # the check ends with the training


@pytest.mark.parametrize('conv,width,autocast,grad', [
    (strided_conv(), 2, True, True),
    (strided_conv(), 1, False, True),  # float32
    (strided_conv(), 1, True, False),  # no gradient: validation, a frozen teacher
    (nn.Conv2d(8, 4, 1, stride=2), 1, True, True),  # 1 x 1 kernel: no padding taps
    (nn.Conv2d(8, 4, 3, stride=(2, 1), padding=1), 1, True, True),  # vertical stride
], ids=['2-px-wide', 'float32', 'no-grad', '1x1-kernel', 'vertical-stride'])
def test_lets_other_convolutions_run(monkeypatch, conv, width, autocast, grad):
    monkeypatch.delenv('ONEDNN_MAX_CPU_ISA', raising=False)
    guarded_conv(conv)
    with torch.autocast('cpu', dtype=torch.bfloat16, enabled=autocast), \
            torch.set_grad_enabled(grad):
        conv(torch.ones(2, 8, 3, width))


@pytest.mark.parametrize('setting', ['ONEDNN_MAX_CPU_ISA=AVX2', 'onednn-disabled',
                                     'check-off'])
def test_the_workarounds_turn_the_convolution_check_off(monkeypatch, setting):
    monkeypatch.setenv('ONEDNN_MAX_CPU_ISA', 'AVX2' if setting.endswith('AVX2') else '')
    conv = strided_conv()
    with torch.backends.mkldnn.flags(enabled=setting != 'onednn-disabled'):
        guarded_conv(conv, onednn_bf16_conv_check=setting != 'check-off')
    with torch.autocast('cpu', dtype=torch.bfloat16):
        conv(torch.ones(2, 8, 3, 1))
