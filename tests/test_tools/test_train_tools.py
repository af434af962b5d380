"""tools/train.py, tools/test.py, tools/dist_train.sh and the student extractor, run as a
user runs them, on a tiny generated copy of the embedded dataset."""
import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from mmrazor_relkd.datasets import generate_shapes_dataset

REPO = Path(__file__).resolve().parents[2]
TEACHER = 'configs/shapes/retinanet_r34_fpn_shapes.py'


def _data_options(data_root: Path) -> list:
    return [f'{loader}.dataset.data_root={data_root}/'
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')] + [
        f'{ev}.ann_file={data_root}/annotations/instances_val.json'
        for ev in ('val_evaluator', 'test_evaluator')] + [
        'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
        'test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False']


def _run(cmd, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600,
                            **kwargs)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


@pytest.fixture(scope='module')
def tiny_shapes(tmp_path_factory) -> Path:
    return generate_shapes_dataset(str(tmp_path_factory.mktemp('shapes')), num_train=16,
                                   num_val=8, seed=1)


@pytest.fixture(scope='module')
def trained(tiny_shapes, tmp_path_factory) -> Path:
    work_dir = tmp_path_factory.mktemp('teacher')
    _run([sys.executable, 'tools/train.py', TEACHER, '--work-dir', str(work_dir),
          '--cfg-options', *_data_options(tiny_shapes)])
    return work_dir


def _scalars(work_dir: Path) -> list:
    (path, ) = work_dir.glob('*/vis_data/scalars.json')
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_train_writes_checkpoint_and_validates(trained):
    assert (trained / 'epoch_1.pth').exists()
    records = _scalars(trained)
    assert any('loss' in r and r['loss'] > 0 for r in records)
    maps = [r['coco/bbox_mAP'] for r in records if 'coco/bbox_mAP' in r]
    assert len(maps) == 1 and 0.0 <= maps[0] <= 1.0


def test_resume_and_test_tool(trained, tiny_shapes, tmp_path):
    """`--resume` (latest checkpoint of the work dir), on a copy of the shared work dir:
    the resumed run keeps one checkpoint and would delete the `epoch_1.pth` that the
    other tests of this module read, in whatever order they run."""
    opts = _data_options(tiny_shapes)
    work_dir = tmp_path / 'resumed'
    shutil.copytree(trained, work_dir)
    (work_dir / 'last_checkpoint').write_text(str(work_dir / 'epoch_1.pth'))
    _run([sys.executable, 'tools/train.py', TEACHER, '--work-dir', str(work_dir),
          '--resume', '--cfg-options', *opts, 'train_cfg.max_epochs=2'])
    assert (work_dir / 'epoch_2.pth').exists()
    assert (trained / 'epoch_1.pth').exists()
    result = _run([sys.executable, 'tools/test.py', TEACHER, str(work_dir / 'epoch_2.pth'),
                   '--work-dir', str(tmp_path), '--out', str(tmp_path / 'preds.pkl'),
                   '--cfg-options', *opts])
    assert 'coco/bbox_mAP' in result.stdout + result.stderr
    assert (tmp_path / 'preds.pkl').stat().st_size > 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_dist_train_two_cpu_processes(tiny_shapes, tmp_path):
    """torchrun with 2 processes (gloo): the sampler splits the 16 images over 2 ranks,
    so each epoch is 1 iteration of 8 images instead of 2."""
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(_free_port()),
               OMP_NUM_THREADS='1')
    result = _run(['bash', 'tools/dist_train.sh', TEACHER, '2', '--work-dir', str(tmp_path),
                   '--cfg-options', *_data_options(tiny_shapes)], env=env)
    log = result.stdout + result.stderr
    assert 'Distributed training: True' in log
    assert 'Epoch(train) [1][1/1]' in log
    assert (tmp_path / 'epoch_1.pth').exists()


def test_extract_student(tmp_path):
    distill = dict(meta=dict(epoch=3), optimizer=dict(state={}), state_dict={
        'architecture.backbone.conv1.weight': torch.ones(2, 3),
        'architecture.bbox_head.conv.bias': torch.zeros(2),
        'teacher.backbone.conv1.weight': torch.full((2, 3), 7.0),
        'distiller.connectors.fpn0.conv.weight': torch.ones(1)})
    torch.save(distill, tmp_path / 'distill.pth')
    _run([sys.executable, 'tools/model_converters/extract_student.py',
          str(tmp_path / 'distill.pth'), str(tmp_path / 'student.pth')])
    student = torch.load(tmp_path / 'student.pth')
    assert student['meta'] == dict(epoch=3)
    assert sorted(student['state_dict']) == ['backbone.conv1.weight', 'bbox_head.conv.bias']
    assert torch.equal(student['state_dict']['backbone.conv1.weight'], torch.ones(2, 3))


def test_extract_student_refuses_a_plain_checkpoint(tmp_path):
    torch.save(dict(state_dict={'backbone.conv1.weight': torch.ones(1)}), tmp_path / 'p.pth')
    result = subprocess.run([sys.executable, 'tools/model_converters/extract_student.py',
                             str(tmp_path / 'p.pth'), str(tmp_path / 'out.pth')],
                            cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0
    assert 'not an mmrazor distillation checkpoint' in result.stderr
