"""docs/own_data.md's two configs, run as a user runs them.

Each test lays a tiny generated copy of the shapes data out the way the guide
describes a user's data (COCO json + image folders; one folder per class), under
``data/`` of a scratch workspace outside the repository, and runs ``tools/train.py``
there for one training iteration and one validation. The checkpoint then shows what
was built: the training set's classes (mmengine stores them in the checkpoint) and
the class count of the student's and the teacher's heads.

Before training, each test builds the guide's training set in-process (from the same
working directory) and checks that its labels mean what the class names say.

The teacher checkpoint is written by the test from a freshly built teacher (a user
points ``teacher_ckpt`` at a teacher trained on their classes). The only other
overrides are for speed on a CPU (batch size, image scale, epochs, workers) and, for
the detector, no ImageNet download for the student's backbone.
"""
import json
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DATASETS, DefaultScope
from mmrazor.registry import MODELS
from mmrazor.utils import register_all_modules

from mmrazor_relkd.datasets import generate_shapes_dataset
from mmrazor_relkd.datasets.synthetic_shapes import CLASSES

REPO = Path(__file__).resolve().parents[2]
COCO_CONFIG = REPO / 'configs/examples/pcka_retina-r101_retina-r50_own-coco.py'
FOLDER_CONFIG = REPO / 'configs/examples/rcka_resnet34_resnet18_own-image-folder.py'
SPEED = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
         'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
         'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
         'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
         'default_hooks.checkpoint.interval=1']


@pytest.fixture(scope='module')
def shapes(tmp_path_factory) -> Path:
    return generate_shapes_dataset(str(tmp_path_factory.mktemp('shapes')), num_train=16,
                                   num_val=8)


def _guide_classes(config: Path) -> tuple:
    classes = tuple(Config.fromfile(str(config)).classes)
    assert set(classes) <= set(CLASSES), f'{config.name}: {classes} not all in {CLASSES}'
    return classes


def _fresh_teacher_checkpoint(config: Path, path: Path) -> Path:
    """The guide's teacher, built as configured (random weights), saved for
    ``teacher_ckpt``."""
    register_all_modules(False)
    cfg = Config.fromfile(str(config))
    with DefaultScope.overwrite_default_scope('mmrazor'):
        teacher = MODELS.build(cfg.model.teacher)
    torch.save(dict(state_dict=teacher.state_dict()), path)
    return path


def _training_set(config: Path, workspace: Path, monkeypatch):
    """The guide's training set, built as ``tools/train.py`` in ``workspace`` builds it."""
    monkeypatch.chdir(workspace)
    register_all_modules(False)
    cfg = Config.fromfile(str(config))
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) > 0
    return dataset


def _train(config: Path, workspace: Path, options: List[str]) -> dict:
    """``tools/train.py CONFIG`` run in ``workspace``; returns the checkpoint."""
    work_dir = workspace / 'work_dir'
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'train.py'), str(config),
         '--work-dir', str(work_dir), '--cfg-options', *SPEED, *options],
        cwd=workspace, capture_output=True, text=True, timeout=600)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-6000:]
    assert 'Epoch(train) [1][1/1]' in log, log[-3000:]  # one training iteration
    return torch.load(work_dir / 'epoch_1.pth', map_location='cpu', weights_only=False)


def test_own_coco_dataset_guide(shapes, tmp_path, monkeypatch):
    """COCO json whose file names are relative to the image folder, as exports write."""
    classes = _guide_classes(COCO_CONFIG)
    root = tmp_path / 'data' / 'my_coco'
    (root / 'annotations').mkdir(parents=True)
    names = {}
    for split in ('train', 'val'):
        (root / 'images' / split).mkdir(parents=True)
        coco = json.loads((shapes / 'annotations' / f'instances_{split}.json').read_text())
        for image in coco['images']:
            name = Path(image['file_name']).name
            (root / 'images' / split / name).symlink_to(shapes / image['file_name'])
            image['file_name'] = name
        names.update({category['id']: category['name'] for category in coco['categories']})
        (root / 'annotations' / f'instances_{split}.json').write_text(json.dumps(coco))
    # label k is the k-th of the listed categories in the json's order: the names
    # must be listed in that order
    dataset = _training_set(COCO_CONFIG, tmp_path, monkeypatch)
    assert [names[i] for i in dataset.cat_ids] == list(classes)
    teacher = _fresh_teacher_checkpoint(COCO_CONFIG, tmp_path / 'teacher.pth')

    checkpoint = _train(COCO_CONFIG, tmp_path, [
        f'model.teacher_ckpt={teacher}',
        'model.architecture.backbone.init_cfg=None',  # no ImageNet download
        'train_dataloader.batch_size=16',  # the 16 images in one iteration
        'train_dataloader.dataset.pipeline.2.scale=(128,128)',  # Resize
        'val_dataloader.dataset.pipeline.1.scale=(128,128)',
        'test_dataloader.dataset.pipeline.1.scale=(128,128)'])

    assert tuple(checkpoint['meta']['dataset_meta']['classes']) == classes
    state = checkpoint['state_dict']
    anchors = 9  # RetinaNet: 3 scales x 3 ratios per location
    for model in ('architecture', 'teacher'):
        assert state[f'{model}.bbox_head.retina_cls.weight'].shape[0] == \
            anchors * len(classes)


def test_own_image_folder_guide(shapes, tmp_path, monkeypatch):
    """One folder per class; two training images per class make one batch of 8, one
    validation image per class one more."""
    classes = _guide_classes(FOLDER_CONFIG)
    root = tmp_path / 'data' / 'my_images'
    for split, per_class in (('train', 2), ('val', 1)):
        by_class = {name: [] for name in classes}
        for line in (shapes / 'annotations' / f'cls_{split}.txt').read_text().split('\n'):
            if line.strip():
                path, label = line.rsplit(maxsplit=1)
                if CLASSES[int(label)] in by_class:
                    by_class[CLASSES[int(label)]].append(path)
        for name, paths in by_class.items():
            assert len(paths) >= per_class, f'too few {split} crops of {name}: new seed'
            (root / split / name).mkdir(parents=True)
            for path in paths[:per_class]:
                (root / split / name / Path(path).name).symlink_to(shapes / path)
    dataset = _training_set(FOLDER_CONFIG, tmp_path, monkeypatch)
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        assert classes[info['gt_label']] == Path(info['img_path']).parent.name
    teacher = _fresh_teacher_checkpoint(FOLDER_CONFIG, tmp_path / 'teacher.pth')

    checkpoint = _train(FOLDER_CONFIG, tmp_path, [
        f'model.teacher_ckpt={teacher}', 'train_dataloader.batch_size=8',
        # 64 px crops instead of 224: the CPU time of one iteration / 12
        'train_dataloader.dataset.pipeline.1.scale=64',  # RandomResizedCrop
        'val_dataloader.dataset.pipeline.1.scale=73',  # ResizeEdge
        'val_dataloader.dataset.pipeline.2.crop_size=64',  # CenterCrop
        'test_dataloader.dataset.pipeline.1.scale=73',
        'test_dataloader.dataset.pipeline.2.crop_size=64'])

    assert tuple(checkpoint['meta']['dataset_meta']['classes']) == classes
    state = checkpoint['state_dict']
    for model in ('architecture', 'teacher'):
        assert state[f'{model}.head.fc.weight'].shape[0] == len(classes)


@pytest.mark.parametrize('config', [COCO_CONFIG, FOLDER_CONFIG], ids=lambda p: p.stem)
def test_the_guide_shows_the_tested_config(config):
    """docs/own_data.md quotes each config from its `_base_` line on, verbatim."""
    text = config.read_text()
    body = text[text.index('_base_ = '):]
    assert body in (REPO / 'docs' / 'own_data.md').read_text()
