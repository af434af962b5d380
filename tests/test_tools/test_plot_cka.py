"""tools/analysis/plot_cka.py on fixture scalars.json files in mmengine's format."""
import importlib.util
import json
import os.path as osp
import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('plot_cka',
                                               ROOT / 'tools' / 'analysis' / 'plot_cka.py')
plot_cka = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(plot_cka)
Curve = plot_cka.Curve

# What LoggerHook writes: training lines carry 'iter', validation lines only 'step'
# (the epoch for epoch-based runs).
FIRST_SESSION = [
    {'lr': 0.1, 'data_time': 0.01, 'loss': 2.3, 'cka/logits': 0.41, 'cka/feat': 0.2,
     'time': 0.2, 'epoch': 1, 'iter': 10, 'memory': 120, 'step': 10},
    {'lr': 0.1, 'data_time': 0.01, 'loss': 2.1, 'cka/logits': 0.52, 'cka/feat': 0.25,
     'time': 0.2, 'epoch': 1, 'iter': 20, 'memory': 120, 'step': 20},
    {'accuracy/top1': 31.5, 'cka/logits': 0.47, 'data_time': 0.01, 'time': 0.1, 'step': 1},
]
RESUMED_SESSION = [
    {'lr': 0.1, 'data_time': 0.01, 'loss': 1.9, 'cka/logits': 0.63, 'cka/feat': 0.3,
     'time': 0.2, 'epoch': 2, 'iter': 30, 'memory': 120, 'step': 30},
    {'accuracy/top1': 40.0, 'cka/logits': 0.58, 'data_time': 0.01, 'time': 0.1, 'step': 2},
]
# a run logged with log_processor=dict(log_with_hierarchy=True)
HIERARCHY_RUN = [
    {'train/lr': 0.1, 'train/loss': 2.0, 'train/cka/logits': 0.3, 'epoch': 1, 'iter': 5,
     'step': 5},
    {'val/accuracy/top1': 20.0, 'val/cka/logits': 0.35, 'step': 1},
]


def _write_run(work_dir: Path, sessions: dict) -> str:
    for timestamp, lines in sessions.items():
        vis_data = work_dir / timestamp / 'vis_data'
        vis_data.mkdir(parents=True)
        (vis_data / 'scalars.json').write_text(
            ''.join(json.dumps(line) + '\n' for line in lines))
        # LoggerHook writes the same lines to <timestamp>.json: must not be read twice
        (vis_data / f'{timestamp}.json').write_text(
            ''.join(json.dumps(line) + '\n' for line in lines))
    return str(work_dir)


@pytest.fixture
def rcka_run(tmp_path):
    return _write_run(tmp_path / 'rcka', {'20240101_000000': FIRST_SESSION,
                                          '20240102_000000': RESUMED_SESSION})


def test_reads_all_cka_scalars_of_all_sessions_in_order(rcka_run):
    assert plot_cka.read_cka_curves(rcka_run) == {
        'train': {'cka/logits': Curve([10, 20, 30], [0.41, 0.52, 0.63]),
                  'cka/feat': Curve([10, 20, 30], [0.2, 0.25, 0.3])},
        'val': {'cka/logits': Curve([1, 2], [0.47, 0.58])},
    }


def test_reads_only_the_requested_keys(rcka_run):
    assert plot_cka.read_cka_curves(rcka_run, keys=['cka/feat', 'accuracy/top1']) == {
        'train': {'cka/feat': Curve([10, 20, 30], [0.2, 0.25, 0.3])},
        'val': {'accuracy/top1': Curve([1, 2], [31.5, 40.0])},
    }


def test_reads_hierarchical_keys(tmp_path):
    run = _write_run(tmp_path / 'hier', {'20240101_000000': HIERARCHY_RUN})
    assert plot_cka.read_cka_curves(run) == {
        'train': {'cka/logits': Curve([5], [0.3])},
        'val': {'cka/logits': Curve([1], [0.35])},
    }


def test_missing_key_raises(rcka_run):
    with pytest.raises(ValueError, match=r"no scalars named \['cka/neck'\]"):
        plot_cka.read_cka_curves(rcka_run, keys=['cka/neck'])


def test_run_without_cka_scalars_raises(tmp_path):
    run = _write_run(tmp_path / 'plain', {'20240101_000000': [{'loss': 1.0, 'iter': 1,
                                                                'step': 1}]})
    with pytest.raises(ValueError, match='CKAMonitorHook'):
        plot_cka.read_cka_curves(run)


def test_work_dir_without_scalars_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        plot_cka.read_cka_curves(str(tmp_path))


def test_writes_a_png_comparing_runs(rcka_run, tmp_path):
    other = _write_run(tmp_path / 'hier', {'20240101_000000': HIERARCHY_RUN})
    out = tmp_path / 'cka.png'
    plot_cka.main([rcka_run, other, '--out', str(out)])
    data = out.read_bytes()
    assert data[:8] == b'\x89PNG\r\n\x1a\n'
    assert data[12:16] == b'IHDR'
    width, height = struct.unpack('>II', data[16:24])
    assert (width, height) == (1200, 400)  # two panels (train, val) of 6 x 4 in at 100 dpi
    assert osp.getsize(out) > 5000
