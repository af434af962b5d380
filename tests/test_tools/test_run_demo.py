"""The demo's bookkeeping: metrics from work dirs, checkpoint reuse, the table."""
import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('run_demo', REPO / 'tools' / 'run_demo.py')
run_demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_demo)


def _work_dir(root: Path, runs: dict) -> Path:
    for stamp, records in runs.items():
        vis = root / stamp / 'vis_data'
        vis.mkdir(parents=True)
        (vis / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))
    return root


def test_final_metric_reads_the_newest_run(tmp_path):
    wd = _work_dir(tmp_path, {
        '20260101_000000': [{'loss': 3.0, 'step': 1}, {'coco/bbox_mAP': 0.1, 'step': 1}],
        '20260102_000000': [{'loss': 2.0, 'step': 1}, {'coco/bbox_mAP': 0.2, 'step': 4},
                            {'coco/bbox_mAP': 0.25, 'step': 8}],
    })
    assert run_demo.final_metric(wd, 'coco/bbox_mAP') == 0.25
    with pytest.raises(KeyError, match='accuracy/top1'):
        run_demo.final_metric(wd, 'accuracy/top1')


def test_last_checkpoint_only_when_the_file_exists(tmp_path):
    assert run_demo.last_checkpoint(tmp_path) is None
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_8.pth'))
    assert run_demo.last_checkpoint(tmp_path) is None
    (tmp_path / 'epoch_8.pth').write_bytes(b'x')
    assert run_demo.last_checkpoint(tmp_path) == tmp_path / 'epoch_8.pth'


def test_train_reuses_an_existing_checkpoint(tmp_path):
    (tmp_path / 'epoch_1.pth').write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    assert run_demo.train('no/such/config.py', tmp_path, True, []) == 0.0


def test_markdown_table():
    table = run_demo.markdown_table([dict(task='detection', metric='bbox mAP', method='PCKA',
                                          teacher=0.5, student=0.3, distilled=0.35)])
    assert '| detection | bbox mAP | 0.500 | 0.300 | 0.350 (PCKA) | +0.050 |' in table


def test_data_options_point_the_configs_at_the_data(tmp_path):
    """One key: the configs' DataRootRunner moves every loader and evaluator
    (tests/test_engine/test_data_root_runner.py)."""
    assert run_demo.data_options(tmp_path) == [f'data_root={tmp_path}/']
    assert run_demo.data_options(run_demo.DEFAULT_DATA) == []
    for task in run_demo.TASKS:
        for config in (task.teacher, task.student, task.distill):
            assert (REPO / config).exists(), config


def test_the_configs_read_the_default_data_from_any_directory(tmp_path, monkeypatch):
    """The demo passes no data options for data/shapes: every loader (and the COCO
    evaluator) of every demo config reads the repository's data/shapes from anywhere."""
    from mmengine.config import Config
    monkeypatch.chdir(tmp_path)
    root = run_demo.DEFAULT_DATA.resolve()
    for task in run_demo.TASKS:
        for config in (task.teacher, task.student, task.distill):
            cfg = Config.fromfile(str(REPO / config))
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
                assert Path(cfg[loader].dataset.data_root).resolve() == root, (config, loader)
            if 'ann_file' in cfg.val_evaluator:
                for ev in ('val_evaluator', 'test_evaluator'):
                    assert Path(cfg[ev].ann_file).resolve() == (
                        root / 'annotations' / 'instances_val.json')


def test_train_passes_cfg_options_only_when_there_are_some(tmp_path, monkeypatch):
    commands = []
    monkeypatch.setattr(run_demo.subprocess, 'run',
                        lambda cmd, **kwargs: commands.append(cmd))
    run_demo.train('c.py', tmp_path, False, [])
    run_demo.train('c.py', tmp_path, False, ['a=1', 'b=2'])
    assert '--cfg-options' not in commands[0]
    assert commands[1][-3:] == ['--cfg-options', 'a=1', 'b=2']


def test_dataset_complete_needs_both_tasks_the_present_classes_and_the_sizes(tmp_path):
    from mmrazor_relkd.datasets import generate_shapes_dataset
    assert not run_demo.dataset_complete(tmp_path)
    generate_shapes_dataset(str(tmp_path), num_train=2, num_val=3, image_size=32)
    assert run_demo.dataset_complete(tmp_path)
    assert run_demo.dataset_complete(tmp_path, (2, 3))
    assert not run_demo.dataset_complete(tmp_path, (2, 4))  # e.g. an older default size
    assert not run_demo.dataset_complete(tmp_path, (3, 3))
    ann = tmp_path / 'annotations' / 'instances_val.json'
    coco = json.loads(ann.read_text())
    coco['categories'] = coco['categories'][:3]  # a dataset of another generator
    ann.write_text(json.dumps(coco))
    assert not run_demo.dataset_complete(tmp_path)
    generate_shapes_dataset(str(tmp_path), num_train=2, num_val=2, image_size=32)
    for crop in (tmp_path / 'crops' / 'val').iterdir():
        crop.unlink()
    (tmp_path / 'crops' / 'val').rmdir()
    assert not run_demo.dataset_complete(tmp_path)
