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


def test_data_options_point_every_loader_at_the_data():
    det, cls = run_demo.TASKS
    opts = run_demo.data_options(det, 'd')
    assert 'val_evaluator.ann_file=d/annotations/instances_val.json' in opts
    assert 'train_dataloader.dataset.data_root=d/' in opts
    assert not any('evaluator' in o for o in run_demo.data_options(cls, 'd'))
    for task in run_demo.TASKS:
        for config in (task.teacher, task.student, task.distill):
            assert (REPO / config).exists(), config


def test_dataset_complete_needs_both_tasks(tmp_path):
    from mmrazor_relkd.datasets import generate_shapes_dataset
    assert not run_demo.dataset_complete(tmp_path)
    generate_shapes_dataset(str(tmp_path), num_train=2, num_val=2, image_size=32)
    assert run_demo.dataset_complete(tmp_path)
    for crop in (tmp_path / 'crops' / 'val').iterdir():
        crop.unlink()
    (tmp_path / 'crops' / 'val').rmdir()
    assert not run_demo.dataset_complete(tmp_path)
