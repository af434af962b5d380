"""Every checkpoint a shipped toy config writes loads under ``weights_only=True``: through
``torch.load`` with the plugin's allow-list (as mmengine's loader runs it), mmengine's
resume and ``load_checkpoint``, with all its state intact."""
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.utils import digit_version
from toy_runs import ITERATIONS, loading_runner, num_param_schedulers, toy_configs

from mmrazor_relkd.compat.checkpoint_globals import mmengine_checkpoints_allowed

CONFIGS = toy_configs()
CHECKPOINT_KEYS = {'meta', 'state_dict', 'optimizer', 'param_schedulers', 'message_hub'}


#: torch >= 2.6 loads with weights_only=True by default, mmengine included; before, the
#: globals mmengine writes cannot (or need not) be allowed
WEIGHTS_ONLY_DEFAULT = digit_version(torch.__version__) >= digit_version('2.6.0')


def weights_only_load(path: Path) -> dict:
    """``torch.load`` as mmengine's loader calls it with the plugin imported
    (``weights_only=True`` from torch 2.6 on, the plugin's allow-list); a failure names
    the globals that are refused."""
    with mmengine_checkpoints_allowed():
        try:
            return torch.load(path, map_location='cpu', weights_only=WEIGHTS_ONLY_DEFAULT)
        except pickle.UnpicklingError as err:
            unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
            pytest.fail(f'{path} does not load with weights_only=True; globals outside '
                        f"torch's and the plugin's allow-lists: {unsafe}\n{err}")


def assert_same(actual: Any, expected: Any, where: str = '') -> None:
    """Equal nested state: tensors and arrays exactly, HistoryBuffers by their data."""
    if isinstance(expected, torch.Tensor):
        assert torch.equal(actual, expected), where
    elif isinstance(expected, np.ndarray):
        np.testing.assert_array_equal(actual, expected, err_msg=where)
    elif isinstance(expected, HistoryBuffer):
        assert_same(actual.data, expected.data, where)
    elif isinstance(expected, dict):
        assert set(actual) == set(expected), where
        for key in expected:
            assert_same(actual[key], expected[key], f'{where}.{key}')
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected), where
        for index, (a, e) in enumerate(zip(actual, expected)):
            assert_same(a, e, f'{where}[{index}]')
    else:
        assert actual == expected, where


def test_every_toy_config_family_is_found():
    assert [c for c in CONFIGS if 'rcka_' in c] == [
        'configs/rcka/shapes/rcka_resnet20_resnet8_1xb32_shapes.py']
    assert {c.split('/')[1] for c in CONFIGS} == {'shapes', 'rcka', 'kda', 'fkd'}
    assert len(CONFIGS) == 9


@pytest.mark.skipif(not WEIGHTS_ONLY_DEFAULT, reason='torch < 2.6 loads unrestricted')
@pytest.mark.parametrize('config', CONFIGS)
def test_checkpoints_load_with_weights_only(toy_run, config):
    run = toy_run(config)
    # mmengine's meta: the epoch to resume at (CheckpointHook saves during epoch 1's
    # end, Runner.save_checkpoint after it) and the iterations done
    for path, epoch in ((run.epoch_checkpoint, 1), (run.final_checkpoint, 2)):
        checkpoint = weights_only_load(path)
        assert CHECKPOINT_KEYS <= set(checkpoint), path
        assert (checkpoint['meta']['epoch'], checkpoint['meta']['iter']) == (epoch, ITERATIONS)
        assert len(checkpoint['param_schedulers']) == num_param_schedulers(run.cfg)


@pytest.mark.parametrize('config', CONFIGS)
def test_resume_and_load_from_restore_every_state(toy_run, config, tmp_path):
    run = toy_run(config)
    expected = weights_only_load(run.epoch_checkpoint)
    runner = loading_runner(run.cfg, run.epoch_checkpoint, True, tmp_path)
    runner.train()  # resumes after epoch 1 of 1: loads everything, trains nothing
    assert (runner.epoch, runner.iter) == (1, ITERATIONS)
    assert_same(dict(runner.model.state_dict()), dict(expected['state_dict']), 'model')
    assert_same(runner.optim_wrapper.state_dict(), expected['optimizer'], 'optimizer')
    assert_same([s.state_dict() for s in runner.param_schedulers],
                expected['param_schedulers'], 'param_schedulers')
    # the logged histories (runtime_info holds the live counters, which resume moves on)
    assert_same(runner.message_hub.state_dict()['log_scalars'],
                expected['message_hub']['log_scalars'], 'log_scalars')
    runner.load_checkpoint(str(run.final_checkpoint))  # the load_from path
    final = weights_only_load(run.final_checkpoint)
    assert_same(dict(runner.model.state_dict()), dict(final['state_dict']), 'load_from')


def _state(config: str, toy_run) -> dict:
    return weights_only_load(toy_run(config).epoch_checkpoint)['state_dict']


def test_kda_landmarks_are_in_the_checkpoint(toy_run):
    state = _state('configs/kda/shapes/kda_before-fc_resnet20_resnet8_1xb32_shapes.py',
                   toy_run)
    (updates, ) = [v for k, v in state.items() if k.endswith('num_updates')]
    assert updates == 1  # the landmark hook ran before the checkpoint hook
    landmarks = [v for k, v in state.items() if k.endswith('landmarks_student')]
    assert landmarks and landmarks[0].abs().sum() > 0


@pytest.mark.parametrize('config', [c for c in CONFIGS if 'gnorp' in c])
def test_gnorp_state_is_in_the_checkpoint(toy_run, config):
    state = _state(config, toy_run)
    assert bool(state['gnorp.initialized'])  # the first iteration sets lambda
    assert state['gnorp.step'] >= 1  # the later ones take Adam steps on log lambda


def test_cka_monitor_logs_are_in_the_checkpoints(toy_run):
    run = toy_run('configs/rcka/shapes/rcka_resnet20_resnet8_1xb32_shapes.py')
    epoch = weights_only_load(run.epoch_checkpoint)['message_hub']['log_scalars']
    final = weights_only_load(run.final_checkpoint)['message_hub']['log_scalars']
    assert len(epoch['train/cka/logits'].data[0]) == ITERATIONS
    assert 'val/cka/logits' not in epoch and len(final['val/cka/logits'].data[0]) == 1


@pytest.mark.skipif(not hasattr(torch.amp, 'GradScaler'), reason='torch < 2.3: no CPU '
                    'GradScaler')
def test_amp_loss_scaler_state_loads(toy_run, tmp_path, monkeypatch):
    """An AmpOptimWrapper's state as mmengine saves it (optimizer state plus the
    GradScaler's under ``loss_scaler``). mmengine only builds the wrapper where a GPU
    is, so the availability check is patched for this test and the wrapper gets torch's
    CPU GradScaler; the state dict and its save / load are mmengine's own."""
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    from mmengine.runner.checkpoint import save_checkpoint
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available', lambda: True)

    def wrapper(model: torch.nn.Module):
        amp = amp_optimizer_wrapper.AmpOptimWrapper(
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
        amp.loss_scaler = torch.amp.GradScaler('cpu', init_scale=2.0**10)
        return amp

    model = torch.nn.Linear(3, 2)
    amp = wrapper(model)
    for _ in range(2):
        amp.update_params(model(torch.ones(4, 3)).pow(2).sum())
    checkpoint = weights_only_load(toy_run(
        'configs/rcka/shapes/resnet8_1xb32_shapes.py').epoch_checkpoint)
    checkpoint['optimizer'] = amp.state_dict()
    save_checkpoint(checkpoint, str(tmp_path / 'amp.pth'))

    loaded = weights_only_load(tmp_path / 'amp.pth')['optimizer']
    assert loaded['loss_scaler']['scale'] == amp.loss_scaler.get_scale()
    assert loaded['loss_scaler']['_growth_tracker'] == 2
    restored = wrapper(torch.nn.Linear(3, 2))
    restored.load_state_dict(loaded)
    assert restored.loss_scaler.state_dict() == amp.loss_scaler.state_dict()
