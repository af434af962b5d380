"""Exact resume after a kill: a run SIGKILLed in the middle of an epoch and restarted
with ``tools/train.py --resume`` ends with the same weights and validation metrics as
the uninterrupted run (deterministic CPU), on the KDA toy config and a GNoRP config."""
import json
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmrazor_relkd.datasets import generate_shapes_dataset
from training_processes import finish_training, start_training

REPO = Path(__file__).resolve().parents[2]
EPOCHS = 2
BATCH_SIZE = 4
# the kill comes right after the checkpoint of this iteration, in the second epoch
KILL_AFTER_ITER = 10
# one checkpoint before the kill (each takes seconds: mmengine formats the config into it)
CHECKPOINT_INTERVAL = KILL_AFTER_ITER

# a hook module the killed run imports: SIGKILL (no clean-up, no atexit) right after
# the CheckpointHook of the given iteration has written its checkpoint
KILLER = '''
import os
import signal

from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class KillAfterIter(Hook):
    priority = 'LOWEST'

    def __init__(self, iteration):
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)
'''

CONFIGS = {
    'kda': 'configs/kda/shapes/kda_before-fc_resnet20_resnet8_1xb32_shapes.py',
    'gnorp': 'configs/fkd/fkd-gnorp_cifar10-resnet18_resnet20_1xb32_shapes.py',
}


@pytest.fixture(scope='module')
def tiny_shapes(tmp_path_factory) -> Path:
    return generate_shapes_dataset(str(tmp_path_factory.mktemp('shapes')), num_train=16,
                                   num_val=8, seed=1)


def _teacher_options(name: str, directory: Path) -> list:
    """A random teacher saved as a checkpoint, passed the config's way (no download)."""
    from mmrazor.registry import MODELS
    model = Config.fromfile(str(REPO / CONFIGS[name])).model
    torch.manual_seed(3)
    if name == 'gnorp':
        (teacher, ) = model.teacher.teachers
    else:
        teacher = model.teacher
    built = MODELS.build(teacher)
    built.init_weights()
    path = directory / 'teacher.pth'
    torch.save(dict(state_dict=built.state_dict()), path)
    if name == 'gnorp':
        return [f'model.teacher.checkpoints=[{path}]']
    return [f'model.teacher_ckpt={path}']


def _options(name: str, data_root: Path, directory: Path) -> list:
    options = [
        f'train_cfg.max_epochs={EPOCHS}', 'train_cfg.val_interval=1',
        'randomness.seed=0', 'randomness.deterministic=True',
        f'train_dataloader.batch_size={BATCH_SIZE}',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'default_hooks.checkpoint.by_epoch=False',
        f'default_hooks.checkpoint.interval={CHECKPOINT_INTERVAL}',
        'default_hooks.checkpoint.max_keep_ckpts=-1', 'default_hooks.logger.interval=1']
    options += [f'{loader}.dataset.data_root={data_root}/'
                for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    if name == 'kda':  # KDA active in the second epoch, with the first epoch's landmarks
        options.append('model.distiller.distill_losses.loss_kda.warmup_epochs=1')
    return options + _teacher_options(name, directory)


def _killed_config(config: str, directory: Path) -> str:
    """``config`` plus the hook that SIGKILLs the run after ``KILL_AFTER_ITER``."""
    (directory / 'killer.py').write_text(KILLER)
    hooks = [dict(hook) for hook in Config.fromfile(str(REPO / config)).get(
        'custom_hooks', [])]
    path = directory / 'killed_config.py'
    path.write_text(
        f"_base_ = ['{REPO / config}']\n"
        "custom_imports = dict(imports=['mmrazor_relkd', 'killer'], "
        "allow_failed_imports=False)\n"
        f"custom_hooks = {hooks!r} + [dict(type='KillAfterIter', "
        f"iteration={KILL_AFTER_ITER})]\n")
    return str(path)


def _final(work_dir: Path):
    """The final weights and the last validation metrics of a run."""
    checkpoint = torch.load(work_dir / f'iter_{_last_iter(work_dir)}.pth',
                            weights_only=False)  # the test's own file (any torch)
    (scalars, ) = sorted(work_dir.glob('*/vis_data/scalars.json'))[-1:]
    metrics = [json.loads(line) for line in scalars.read_text().splitlines()]
    val = [m for m in metrics if any('accuracy/top1' in key for key in m)]
    return checkpoint['state_dict'], {k: v for k, v in val[-1].items() if 'accuracy' in k}


def _last_iter(work_dir: Path) -> int:
    return max(int(p.stem.split('_')[1]) for p in work_dir.glob('iter_*.pth'))


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_sigkill_mid_epoch_then_resume_ends_as_the_uninterrupted_run(
        name, tiny_shapes, tmp_path):
    config = CONFIGS[name]
    options = _options(name, tiny_shapes, tmp_path)
    whole = start_training(config, tmp_path / 'whole', options)
    killed = start_training(_killed_config(config, tmp_path), tmp_path / 'resumed',
                            options, pythonpath=str(tmp_path))
    returncode, output = finish_training(whole)
    assert returncode == 0, output
    iters_per_epoch = _last_iter(tmp_path / 'whole') // EPOCHS
    assert iters_per_epoch < KILL_AFTER_ITER < 2 * iters_per_epoch  # mid-epoch 2
    returncode, output = finish_training(killed)
    assert returncode == -9, output
    assert _last_iter(tmp_path / 'resumed') == KILL_AFTER_ITER

    returncode, output = finish_training(
        start_training(config, tmp_path / 'resumed', options, '--resume'))
    assert returncode == 0, output

    weights, metrics = _final(tmp_path / 'resumed')
    expected_weights, expected_metrics = _final(tmp_path / 'whole')
    assert _last_iter(tmp_path / 'resumed') == _last_iter(tmp_path / 'whole')
    assert weights.keys() == expected_weights.keys()
    different = [k for k in weights if not torch.equal(weights[k], expected_weights[k])]
    assert not different, f'{len(different)} of {len(weights)} tensors differ'
    assert metrics == expected_metrics
