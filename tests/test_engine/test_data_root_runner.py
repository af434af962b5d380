"""One key, `data_root`, moves every loader and evaluator of the shapes configs."""
from pathlib import Path

import pytest
from mmengine.config import Config

from mmrazor_relkd.engine.runners import DataRootRunner, redirect_data_root

ROOT = Path(__file__).resolve().parents[2]
DETECTION = ROOT / 'configs/shapes/retinanet_r18-w32_fpn_shapes.py'
CLASSIFICATION = ROOT / 'configs/rcka/shapes/resnet8_1xb32_shapes.py'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')


def _paths(cfg):
    paths = [cfg[loader].dataset.data_root for loader in LOADERS]
    if 'ann_file' in cfg.val_evaluator:
        paths += [cfg[ev].ann_file for ev in ('val_evaluator', 'test_evaluator')]
    return paths


@pytest.mark.parametrize('config', [DETECTION, CLASSIFICATION], ids=['det', 'cls'])
def test_one_key_moves_every_loader_and_evaluator(config, tmp_path):
    cfg = Config.fromfile(str(config))
    default = cfg.default_data_root
    assert all(p.startswith(default) for p in _paths(cfg))
    cfg.merge_from_dict({'data_root': str(tmp_path / 'mine')})  # no trailing slash
    redirect_data_root(cfg)
    moved = _paths(cfg)
    assert all(p.startswith(f'{tmp_path}/mine/') for p in moved), moved
    if 'ann_file' in cfg.val_evaluator:
        assert cfg.val_evaluator.ann_file == \
            f'{tmp_path}/mine/annotations/instances_val.json'
    assert cfg.train_dataloader.dataset.ann_file == \
        Config.fromfile(str(config)).train_dataloader.dataset.ann_file  # relative: kept


def test_derived_config_sets_data_root_alone_and_the_runner_follows(tmp_path):
    derived = tmp_path / 'derived.py'
    derived.write_text(f"_base_ = ['{CLASSIFICATION}']\ndata_root = '{tmp_path}/other/'\n")
    cfg = Config.fromfile(str(derived))
    assert cfg.runner_type == 'DataRootRunner'
    cfg.work_dir = str(tmp_path / 'work')
    runner = DataRootRunner.from_cfg(cfg)
    assert [runner._train_dataloader['dataset']['data_root'],
            runner._val_dataloader['dataset']['data_root'],
            runner._test_dataloader['dataset']['data_root']] == [f'{tmp_path}/other/'] * 3


def test_unchanged_data_root_changes_nothing():
    cfg = Config.fromfile(str(DETECTION))
    before = _paths(cfg)
    assert _paths(redirect_data_root(cfg)) == before


def test_a_config_without_the_keys_is_refused():
    with pytest.raises(KeyError, match='needs the top-level `default_data_root`'):
        redirect_data_root(Config(dict(data_root='x/')))
