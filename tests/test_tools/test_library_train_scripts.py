"""The OpenMMLab libraries' own ``tools/train.py`` (the copies they ship under
``<package>/.mim/tools/``) train a shipped config of this project, run from a
workspace outside the repository as a user of that library runs them: mmdet's a
detector, mmpretrain's a classifier, mmrazor's a PCKA distillation (mmrazor's script
imports mmrazor before it reads the config: mmrazor_relkd_import_hook makes that work on
torch >= 2). One epoch each, in batches of 2, on a tiny generated copy of the shapes
data; no validation."""
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import torch

import mmdet
import mmpretrain
import mmrazor
from mmrazor_relkd.datasets import generate_shapes_dataset

REPO = Path(__file__).resolve().parents[2]
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
ONE_EPOCH_NO_VALIDATION = [
    'train_cfg.max_epochs=1', 'train_cfg.val_interval=2',
    'default_hooks.checkpoint.interval=1', 'train_dataloader.batch_size=2'] + [
    f'{loader}.{key}' for loader in LOADERS
    for key in ('num_workers=0', 'persistent_workers=False')]


def _detection_data(root: Path) -> List[str]:
    return [f'{loader}.dataset.data_root={root}/' for loader in LOADERS] + [
        f'{evaluator}.ann_file={root}/annotations/instances_val.json'
        for evaluator in ('val_evaluator', 'test_evaluator')]


def _classification_data(root: Path) -> List[str]:
    return [f'{loader}.dataset.data_root={root}/' for loader in LOADERS]


@pytest.fixture(scope='module')
def shapes(tmp_path_factory) -> Path:
    """4 training images (2 detection iterations) holding 6 shapes (3 classification
    iterations)."""
    return generate_shapes_dataset(str(tmp_path_factory.mktemp('shapes')), num_train=4,
                                   num_val=2, seed=1)


@pytest.mark.parametrize('library, config, options, state_prefix', [
    (mmdet, 'configs/shapes/retinanet_r18-w32_fpn_shapes.py', _detection_data,
     'backbone.'),
    (mmpretrain, 'configs/rcka/shapes/resnet8_1xb32_shapes.py', _classification_data,
     'backbone.'),
    (mmrazor, 'configs/shapes/pcka_fpn_retina-r34_retina-r18-w32_shapes.py',
     lambda root: _detection_data(root) + [
         'model.teacher_ckpt=None', 'model.allow_random_teacher=True'],
     'architecture.backbone.'),
], ids=['mmdet', 'mmpretrain', 'mmrazor'])
def test_library_train_script_trains_a_shipped_config(library, config, options,
                                                      state_prefix, shapes, tmp_path):
    script = Path(library.__file__).parent / '.mim' / 'tools' / 'train.py'
    work_dir = tmp_path / 'work_dir'
    result = subprocess.run(
        [sys.executable, str(script), str(REPO / config), '--work-dir', str(work_dir),
         '--cfg-options', *options(shapes), *ONE_EPOCH_NO_VALIDATION],
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    checkpoint = torch.load(work_dir / 'epoch_1.pth', map_location='cpu',
                            weights_only=False)
    assert checkpoint['meta']['epoch'] == 1
    assert any(key.startswith(state_prefix) for key in checkpoint['state_dict'])
