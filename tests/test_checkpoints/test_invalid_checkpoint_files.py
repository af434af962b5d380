"""A file that is not a checkpoint, given as ``load_from``, ``--resume``, ``teacher_ckpt``
or a teacher ensemble's checkpoint, fails with an error that names it."""
import os
import re
import subprocess
import sys

import pytest
from mmengine.registry import DefaultScope
from mmrazor.registry import MODELS
from toy_runs import REPO, data_options, loading_runner, toy_config

from mmrazor_relkd.compat import InvalidCheckpointError

STUDENT = 'configs/rcka/shapes/resnet8_1xb32_shapes.py'


@pytest.fixture
def random_file(tmp_path):
    path = tmp_path / 'random.pth'
    path.write_bytes(os.urandom(4096))
    return path


def _not_a_checkpoint(path) -> str:
    return re.escape(f'{path} is not a valid checkpoint: it is neither a zip archive '
                     'written by torch.save nor a legacy torch.save file')


@pytest.mark.parametrize('resume', [False, True], ids=['load_from', 'resume'])
def test_runner_names_the_file(tiny_shapes, random_file, tmp_path, resume):
    cfg = toy_config(STUDENT, tiny_shapes, tmp_path)
    runner = loading_runner(cfg, random_file, resume, tmp_path / 'run')
    with pytest.raises(InvalidCheckpointError, match=_not_a_checkpoint(random_file)):
        runner.train()


@pytest.mark.parametrize('config', [
    'configs/rcka/shapes/rcka_resnet20_resnet8_1xb32_shapes.py',
    'configs/fkd/fkd-gnorp_cifar10-resnet18_resnet20_1xb32_shapes.py'])
def test_teacher_checkpoint_names_the_file(tiny_shapes, random_file, tmp_path, config):
    model = toy_config(config, tiny_shapes, tmp_path).model
    if 'checkpoints' in model.teacher:
        model.teacher.checkpoints = [str(random_file)]
    else:
        model.teacher_ckpt = str(random_file)
    with DefaultScope.overwrite_default_scope('mmrazor'), pytest.raises(
            InvalidCheckpointError, match=_not_a_checkpoint(random_file)):
        MODELS.build(model)


def test_train_tool_resume_names_the_file(tiny_shapes, random_file, tmp_path):
    cfg = toy_config(STUDENT, tiny_shapes, tmp_path)
    options = [f'{key}={value}' for key, value in data_options(cfg, tiny_shapes).items()]
    result = subprocess.run(
        [sys.executable, 'tools/train.py', STUDENT, '--work-dir', str(tmp_path / 'run'),
         '--resume', str(random_file), '--cfg-options', *options],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert re.search('InvalidCheckpointError: ' + _not_a_checkpoint(random_file),
                     result.stderr), result.stderr[-3000:]
    assert 'weights_only' not in result.stderr
