"""The checkpoint shim: mmengine checkpoints load with weights_only=True through
mmengine's loader (every state mmengine writes, a OneCycle scheduler's included),
nothing else, and the allow-list holds only while mmengine loads."""
import io
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner
from mmengine.utils import digit_version
from torch.utils.data import Dataset

from mmrazor_relkd.compat.checkpoint_globals import (OneCycleParamSchedulerName,
                                                     allow_mmengine_checkpoints,
                                                     checkpoint_getattr, empty_bytes,
                                                     mmengine_checkpoint_globals,
                                                     needs_allowlist)

WEIGHTS_ONLY_DEFAULT = digit_version(torch.__version__) >= digit_version('2.6.0')
needs_weights_only_default = pytest.mark.skipif(
    not WEIGHTS_ONLY_DEFAULT,
    reason='torch < 2.6 unpickles checkpoints in full (weights_only=False by default): '
    'the shim is a no-op there, and a checkpoint is only as safe as its source')


class _Linear(BaseModel):

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, mode='tensor'):
        out = self.linear(torch.stack(inputs))
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


class _Points(Dataset):

    def __len__(self) -> int:
        return 8

    def __getitem__(self, i: int) -> dict:
        return dict(inputs=torch.full((2, ), float(i)))


def _runner(work_dir, max_epochs: int, resume: bool = False, load_from=None,
            param_scheduler=None) -> Runner:
    return Runner(
        model=_Linear(), work_dir=str(work_dir), experiment_name=f'run{max_epochs}{resume}',
        train_dataloader=dict(dataset=_Points(), batch_size=4,
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        param_scheduler=param_scheduler,
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs), resume=resume,
        load_from=None if load_from is None else str(load_from),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)))


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('ckpt')
    _runner(work_dir, 1).train()
    return work_dir / 'epoch_1.pth'


def test_allowlist_is_needed_from_torch_2_6():
    assert not needs_allowlist('2.5.1')
    assert needs_allowlist('2.6.0')


@needs_weights_only_default
def test_default_torch_load_is_weights_only():
    assert needs_allowlist()  # the shim must be active
    assert allow_mmengine_checkpoints() is False  # applied by import, idempotent


@pytest.mark.skipif(WEIGHTS_ONLY_DEFAULT, reason='checks torch < 2.6')
def test_shim_is_a_noop_before_torch_2_6():
    """Nothing to allow-list (and no add_safe_globals before torch 2.4): no-op."""
    assert not needs_allowlist()
    assert allow_mmengine_checkpoints() is False


def _allowed_now():
    """Which of the shim's globals torch allows at this moment."""
    registered = torch.serialization.get_safe_globals()
    return [g for g in mmengine_checkpoint_globals() if g in registered]


@needs_weights_only_default
def test_allowlist_holds_only_while_mmengine_loads(checkpoint):
    """Registered around mmengine's loader, not for the whole process: a plain
    torch.load elsewhere keeps torch's own allow-list."""
    assert _allowed_now() == []
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(checkpoint))
    assert {'mmengine.logging.history_buffer.HistoryBuffer', 'builtins.getattr'} <= set(
        unsafe)
    with pytest.raises(pickle.UnpicklingError, match='HistoryBuffer'):
        torch.load(checkpoint, map_location='cpu', weights_only=True)
    seen = []
    load_from_local = CheckpointLoader._schemes['']

    def spying_loader(filename, map_location):
        seen.append(_allowed_now())
        return load_from_local(filename, map_location)

    CheckpointLoader._schemes[''] = spying_loader
    try:
        CheckpointLoader.load_checkpoint(str(checkpoint), map_location='cpu')
    finally:
        CheckpointLoader._schemes[''] = load_from_local
    assert seen == [mmengine_checkpoint_globals()]
    assert _allowed_now() == []


@needs_weights_only_default
def test_globals_allowed_before_stay_allowed(checkpoint):
    from mmengine.logging import HistoryBuffer
    with torch.serialization.safe_globals([HistoryBuffer]):
        CheckpointLoader.load_checkpoint(str(checkpoint), map_location='cpu')
        assert _allowed_now() == [HistoryBuffer]


def test_mmengine_checkpoint_round_trip(checkpoint):
    loaded = CheckpointLoader.load_checkpoint(str(checkpoint), map_location='cpu')
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert buffer.mean() == pytest.approx(float(buffer.data[0].mean()))
    assert loaded['meta']['epoch'] == 1


def test_resume_continues_from_checkpoint(checkpoint, tmp_path):
    import shutil
    shutil.copy(checkpoint, tmp_path / 'epoch_1.pth')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    runner = _runner(tmp_path, 2, resume=True)
    runner.train()
    assert runner.epoch == 2 and (tmp_path / 'epoch_2.pth').exists()


@needs_weights_only_default
def test_never_updated_history_buffer_loads(tmp_path):
    """An empty buffer's numpy arrays pickle their (empty) data as builtins.bytes()."""
    from mmengine.logging import HistoryBuffer
    path = tmp_path / 'empty_buffer.pth'
    torch.save(dict(meta=dict(epoch=0), message_hub=dict(
        log_scalars={'val/accuracy': HistoryBuffer()})), path)
    unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    assert 'builtins.bytes' in unsafe
    loaded = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    buffer = loaded['message_hub']['log_scalars']['val/accuracy']
    assert isinstance(buffer, HistoryBuffer) and buffer.data[0].size == 0


class _System:
    """Pickles as a call of os.system: what a malicious checkpoint contains."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self):
        import os
        return os.system, (self.command, )


class _GetattrEscape:
    """Pickles as getattr(HistoryBuffer, '__init__'): a getattr outside the allow-list."""

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return getattr, (HistoryBuffer, '__init__')


class _SizedBytes:
    """Pickles as bytes(10**6): an allocation whose size the file chooses."""

    def __reduce__(self):
        return bytes, (10**6, )


@needs_weights_only_default
@pytest.mark.parametrize('payload', ['system', 'getattr', 'bytes'])
def test_malicious_checkpoint_is_refused(tmp_path, payload):
    marker = tmp_path / 'pwned'
    obj = dict(system=_System(f'touch {marker}'), getattr=_GetattrEscape(),
               bytes=_SizedBytes())[payload]
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': obj}, path)
    with pytest.raises(pickle.UnpicklingError):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert not marker.exists()


@needs_weights_only_default
@pytest.mark.parametrize('resume', [False, True], ids=['load_from', 'resume'])
def test_malicious_checkpoint_is_refused_by_the_runner(tmp_path, resume):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'meta': _System(f'touch {marker}')}, path)
    runner = _runner(tmp_path / 'run', 1, resume=resume, load_from=path)
    with pytest.raises(pickle.UnpicklingError, match=r'GLOBAL \w+\.system'):
        runner.train()
    assert not marker.exists()


def test_restricted_bytes_builds_only_empty_bytes():
    assert empty_bytes() == b''
    for args in [(10, ), (b'abc', ), ('abc', 'latin1')]:
        with pytest.raises(pickle.UnpicklingError, match=r'refused bytes\('):
            empty_bytes(*args)


def test_restricted_getattr_allows_only_statistics_and_annealing():
    from mmengine.logging import HistoryBuffer
    from mmengine.optim import OneCycleParamScheduler
    assert checkpoint_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    assert checkpoint_getattr(OneCycleParamSchedulerName, '_annealing_cos') is \
        OneCycleParamScheduler._annealing_cos
    for obj, name in [(HistoryBuffer, '__class__'), (HistoryBuffer, 'update'),
                      (HistoryBuffer, '_annealing_cos'), (io, 'open'), (torch, 'load'),
                      (OneCycleParamSchedulerName, '__init__'),
                      (OneCycleParamScheduler, '_annealing_cos')]:
        with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
            checkpoint_getattr(obj, name)


class _NewScheduler:
    """Pickles as OneCycleParamScheduler(...): building a scheduler from a file."""

    def __reduce__(self):
        from mmengine.optim import OneCycleParamScheduler
        return OneCycleParamScheduler, ({}, 'lr', 0.1)


@needs_weights_only_default
def test_a_file_cannot_build_a_one_cycle_scheduler(tmp_path):
    """The scheduler's name resolves to a stand-in that refuses to be built."""
    path = tmp_path / 'scheduler.pth'
    torch.save({'meta': _NewScheduler()}, path)
    with pytest.raises(pickle.UnpicklingError,
                       match='refused building a OneCycleParamScheduler'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


@pytest.mark.parametrize('anneal_strategy', ['cos', 'linear'])
def test_one_cycle_scheduler_checkpoint_resumes(tmp_path, anneal_strategy):
    """OneCycleParamScheduler keeps its annealing function (a static method) in its
    state: mmengine writes it, so it must load on resume."""
    from mmengine.optim import OneCycleParamScheduler
    scheduler = dict(type='OneCycleLR', eta_max=0.1, begin=0, end=4, by_epoch=False,
                     anneal_strategy=anneal_strategy)
    _runner(tmp_path / 'resumed', 1, param_scheduler=scheduler).train()
    runner = _runner(tmp_path / 'resumed', 2, resume=True, param_scheduler=scheduler)
    runner.train()
    whole = _runner(tmp_path / 'whole', 2, param_scheduler=scheduler)
    whole.train()
    (resumed, ) = runner.param_schedulers
    assert resumed.anneal_func is getattr(OneCycleParamScheduler,
                                          f'_annealing_{anneal_strategy}')
    assert runner.iter == 4
    assert resumed.state_dict() == whole.param_schedulers[0].state_dict()


#: arguments for one scheduler of each parameter-scheduler family registered in
#: mmengine's registry (mmengine's own and the plugin's ALRS)
SCHEDULER_ARGS = {
    'ALRSParamScheduler': dict(),
    'StepParamScheduler': dict(step_size=1),
    'MultiStepParamScheduler': dict(milestones=[1]),
    'ConstantParamScheduler': dict(end=4),
    'ExponentialParamScheduler': dict(gamma=0.9),
    'CosineAnnealingParamScheduler': dict(T_max=4),
    'LinearParamScheduler': dict(end=4),
    'PolyParamScheduler': dict(end=4),
    'OneCycleParamScheduler': dict(eta_max=0.1, total_steps=4),
    'CosineRestartParamScheduler': dict(periods=[2, 2], restart_weights=[1, 0.5],
                                        eta_min=0.0),
    'ReduceOnPlateauParamScheduler': dict(),
}


def _mmengine_schedulers():
    from mmengine.registry import PARAM_SCHEDULERS
    return sorted(PARAM_SCHEDULERS.module_dict.items())


def _family(cls) -> str:
    (family, ) = [base.__name__ for base in cls.__mro__
                  if base.__name__ in SCHEDULER_ARGS]
    return family


def test_every_mmengine_scheduler_family_has_arguments():
    assert {_family(cls) for _, cls in _mmengine_schedulers()} == set(SCHEDULER_ARGS)


@pytest.mark.parametrize('name', [name for name, _ in _mmengine_schedulers()])
def test_every_mmengine_scheduler_state_loads(name, tmp_path):
    """What mmengine writes for each registered parameter scheduler loads back through
    its loader, equal."""
    from mmengine.optim import OptimWrapper
    cls = dict(_mmengine_schedulers())[name]
    model = nn.Linear(2, 1)
    optim_wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1,
                                                 momentum=0.9))
    kwargs = dict(SCHEDULER_ARGS[_family(cls)])
    if name.endswith('ParamScheduler'):
        kwargs['param_name'] = 'lr'
    scheduler = cls(optim_wrapper, **kwargs)
    state = scheduler.state_dict()
    torch.save(dict(param_schedulers=[state]), tmp_path / 'scheduler.pth')
    loaded = CheckpointLoader.load_checkpoint(str(tmp_path / 'scheduler.pth'))
    assert loaded['param_schedulers'] == [state]
