"""The checkpoint-file shim: what counts as a torch.save file, and mmengine's loader."""
import pickle
import random
import zipfile

import pytest
import torch
from mmengine.runner import CheckpointLoader

from mmrazor_relkd.compat import InvalidCheckpointError, check_checkpoint_files
from mmrazor_relkd.compat.checkpoint_files import is_torch_checkpoint_file


# Arbitrary bytes, fixed: for about 8% of first bytes torch.load names another error
# type (IndexError, KeyError, UnicodeDecodeError), so fresh os.urandom bytes made the
# message test fail at random; these give UnpicklingError.
NOT_A_CHECKPOINT = random.Random(0).randbytes(4096)


def _saved(path, **kwargs):
    torch.save(dict(state_dict=dict(w=torch.ones(3))), path, **kwargs)
    return path


def test_torch_save_files_are_recognised(tmp_path):
    assert is_torch_checkpoint_file(str(_saved(tmp_path / 'zip.pth')))
    assert is_torch_checkpoint_file(
        str(_saved(tmp_path / 'legacy.pth', _use_new_zipfile_serialization=False)))


def test_other_files_are_not(tmp_path):
    full = _saved(tmp_path / 'full.pth').read_bytes()
    with zipfile.ZipFile(tmp_path / 'other.zip', 'w') as archive:
        archive.writestr('readme.txt', 'not a checkpoint')
    files = dict(random=NOT_A_CHECKPOINT, empty=b'', truncated=full[:len(full) // 2],
                 html=b'<html><body>404</body></html>',
                 other_pickle=pickle.dumps({'a': 1}, protocol=2),
                 zip=(tmp_path / 'other.zip').read_bytes())
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
        assert not is_torch_checkpoint_file(str(tmp_path / name)), name


def test_mmengine_loader_names_the_invalid_file(tmp_path):
    path = tmp_path / 'random.pth'
    path.write_bytes(NOT_A_CHECKPOINT)
    with pytest.raises(InvalidCheckpointError) as info:
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert str(info.value).startswith(
        f'{path} is not a valid checkpoint: it is neither a zip archive written by '
        'torch.save nor a legacy torch.save file (torch.load failed with UnpicklingError)')
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert 'weights_only' not in str(info.value)


def test_mmengine_loader_keeps_valid_and_missing_files(tmp_path):
    loaded = CheckpointLoader.load_checkpoint(str(_saved(tmp_path / 'ok.pth')))
    torch.testing.assert_close(loaded['state_dict']['w'], torch.ones(3))
    with pytest.raises(FileNotFoundError, match='can not be found'):
        CheckpointLoader.load_checkpoint(str(tmp_path / 'missing.pth'))
    assert check_checkpoint_files() is False  # applied by import, once
