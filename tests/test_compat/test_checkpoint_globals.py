"""The checkpoint shim: mmengine checkpoints load with weights_only=True, nothing else."""
import io
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner
from mmengine.utils import digit_version
from torch.utils.data import Dataset

from mmrazor_relkd.compat.checkpoint_globals import (allow_mmengine_checkpoints,
                                                     empty_bytes,
                                                     history_buffer_getattr,
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


def _runner(work_dir, max_epochs: int, resume: bool = False, load_from=None) -> Runner:
    return Runner(
        model=_Linear(), work_dir=str(work_dir), experiment_name=f'run{max_epochs}{resume}',
        train_dataloader=dict(dataset=_Points(), batch_size=4,
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
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


@needs_weights_only_default
def test_shim_is_what_makes_the_checkpoint_load(checkpoint):
    registered = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(checkpoint))
        assert 'mmengine.logging.history_buffer.HistoryBuffer' in unsafe
        assert 'builtins.getattr' in unsafe
        with pytest.raises(pickle.UnpicklingError):
            CheckpointLoader.load_checkpoint(str(checkpoint), map_location='cpu')
    finally:
        torch.serialization.add_safe_globals(registered)


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
    registered = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        unsafe = torch.serialization.get_unsafe_globals_in_checkpoint(str(path))
    finally:
        torch.serialization.add_safe_globals(registered)
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


def test_restricted_getattr_allows_only_statistics():
    from mmengine.logging import HistoryBuffer
    assert history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    for obj, name in [(HistoryBuffer, '__class__'), (HistoryBuffer, 'update'),
                      (io, 'open'), (torch, 'load')]:
        with pytest.raises(pickle.UnpicklingError, match='refused getattr'):
            history_buffer_getattr(obj, name)
