"""TinyImageNet reads the distributed folder layout (a fake one made here)."""
import os.path as osp

import numpy as np
import pytest
import torch
from PIL import Image

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmpretrain.registry import DATASETS
from mmrazor_relkd.datasets.tiny_imagenet import TinyImageNet

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


WNIDS = ['n02', 'n01', 'n03']  # wnids.txt is not sorted; class index = sorted position


def _image(path, value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((64, 64, 3), value, dtype=np.uint8)).save(path, 'JPEG')


@pytest.fixture
def tiny_root(tmp_path):
    root = tmp_path / 'tiny-imagenet-200'
    root.mkdir()
    (root / 'wnids.txt').write_text('\n'.join(WNIDS) + '\n')
    for wnid in WNIDS:
        for i in range(2):
            _image(root / 'train' / wnid / 'images' / f'{wnid}_{i}.JPEG', 10 * i)
        (root / 'train' / wnid / f'{wnid}_boxes.txt').write_text('ignored\n')
    lines = []
    for i, wnid in enumerate(['n03', 'n01', 'n03', 'n02']):
        _image(root / 'val' / 'images' / f'val_{i}.JPEG', 50)
        lines.append(f'val_{i}.JPEG\t{wnid}\t0\t0\t63\t63')
    (root / 'val' / 'val_annotations.txt').write_text('\n'.join(lines) + '\n')
    return root


def test_train_split_reads_class_folders(tiny_root):
    dataset = TinyImageNet(data_root=str(tiny_root), split='train')
    assert dataset.metainfo['classes'] == ('n01', 'n02', 'n03')
    samples = [(osp.basename(dataset.get_data_info(i)['img_path']),
                dataset.get_data_info(i)['gt_label']) for i in range(len(dataset))]
    assert samples == [('n01_0.JPEG', 0), ('n01_1.JPEG', 0), ('n02_0.JPEG', 1),
                       ('n02_1.JPEG', 1), ('n03_0.JPEG', 2), ('n03_1.JPEG', 2)]


def test_val_split_reads_the_annotation_file(tiny_root):
    dataset = TinyImageNet(data_root=str(tiny_root), split='val')
    assert [dataset.get_data_info(i)['gt_label'] for i in range(len(dataset))] == [2, 0, 2, 1]
    assert dataset.get_data_info(1)['img_path'] == str(tiny_root / 'val' / 'images' /
                                                       'val_1.JPEG')


@pytest.mark.parametrize('split', ['train', 'val'])
def test_config_pipelines_load_64x64_samples(tiny_root, split):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/kda/_base_/tiny-imagenet_2xb128.py'))
    dataset_cfg = cfg[f'{split}_dataloader']['dataset']
    dataset_cfg['data_root'] = str(tiny_root)
    with DefaultScope.overwrite_default_scope('mmpretrain'):  # the configs' default scope
        dataset = DATASETS.build(dataset_cfg)
        sample = dataset[0]
    assert sample['inputs'].shape == (3, 64, 64) and sample['inputs'].dtype == torch.uint8
    assert int(sample['data_samples'].gt_label) == dataset.get_data_info(0)['gt_label']


def test_errors_name_the_problem(tiny_root, tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        TinyImageNet(data_root=str(tiny_root), split='test')
    with pytest.raises(FileNotFoundError, match='wnids.txt not found'):
        TinyImageNet(data_root=str(tmp_path / 'missing'))
    annotations = tiny_root / 'val' / 'val_annotations.txt'
    annotations.write_text(annotations.read_text() + 'val_9.JPEG\tn99\t0\t0\t1\t1\n')
    with pytest.raises(ValueError, match=r"val_annotations.txt:5 names wnid 'n99'"):
        TinyImageNet(data_root=str(tiny_root), split='val')
    _image(tiny_root / 'train' / 'n77' / 'images' / 'n77_0.JPEG', 0)
    with pytest.raises(ValueError, match=r"class folders \['n77'\].*not in wnids.txt"):
        TinyImageNet(data_root=str(tiny_root), split='train')
