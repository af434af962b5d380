"""tools/analysis/compare_methods.py and its statistics (tools/analysis/method_stats.py).

- the statistics against values computed by hand (and the t table);
- reading mmengine's ``scalars.json`` (resumed sessions, overhead, missing metric);
- skip / resume / restart / failure with a fake trainer in place of tools/train.py;
- the dry-run plan;
- one end-to-end run of a tiny suite (teacher, student, 2 methods, 2 seeds, 1 epoch);
- the shipped real-data suites (CIFAR-100, COCO): every run's written config builds its
  model, and the dry run lists every run.
"""
import importlib.util
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
ANALYSIS = ROOT / 'tools' / 'analysis'


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ANALYSIS / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


method_stats = _load('method_stats')
compare = _load('compare_methods')

SHIPPED_SUITES = {
    'configs/benchmarks/cifar100_resnet32x4_resnet8x4.py': (
        'accuracy/top1',
        ['KD', 'DKD', 'DIST', 'RKD', 'FCKA', 'LCKA', 'RCKA', 'KDA', 'FKD+GNoRP',
         'mAKD+GNoRP']),
    'configs/benchmarks/coco_retina-x101_retina-r50.py': (
        'coco/bbox_mAP', ['PCKA', 'PCKA+mimic', 'PKD', 'CWD', 'MGD', 'FBKD', 'L2-mimic']),
    'configs/benchmarks/shapes_classification.py': (
        'accuracy/top1',
        ['KD', 'DKD', 'DIST', 'RKD', 'FCKA', 'LCKA', 'RCKA', 'KDA', 'FKD', 'mAKD', 'SP',
         'CC', 'mAKD+GNoRP', 'RCKA+GNoRP']),
    'configs/benchmarks/shapes_classification_ablations.py': (
        'accuracy/top1',
        ['FKD', 'FKD-no-reg', 'KDA', 'KDA-x10', 'KDA-32-landmarks']),
    'configs/benchmarks/shapes_detection.py': (
        'coco/bbox_mAP', ['PCKA', 'PCKA+mimic', 'PKD', 'CWD', 'MGD', 'FBKD', 'L2-mimic']),
}

# --------------------------------------------------------------------- statistics


def test_summarize_by_hand():
    # the three student seeds: mean 88.6667; deviations 1.4333, -3.2667, 1.8333;
    # squares 2.05444 + 10.67111 + 3.36111 = 16.08667; / 2 = 8.04333; sqrt = 2.83608
    summary = method_stats.summarize([90.1, 85.4, 90.5])
    assert summary.mean == pytest.approx(88.666667, abs=1e-6)
    assert summary.std == pytest.approx(2.836077, abs=1e-6)
    assert summary.n == 3
    assert method_stats.summarize([3.5]) == (3.5, None, 1)
    with pytest.raises(ValueError, match='at least one value'):
        method_stats.summarize([])


@pytest.mark.parametrize('dof,expected', [(1, 12.7062), (2, 4.3027), (4, 2.7764),
                                          (9, 2.2622), (30, 2.0423)])
def test_t_critical_matches_the_table(dof, expected):
    # two-sided 95% critical values of Student's t (any statistics textbook's table)
    assert method_stats.t_critical(0.95, dof) == pytest.approx(expected, abs=1e-4)


def test_t_critical_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r'confidence must lie in \(0, 1\), got 95'):
        method_stats.t_critical(95, 3)
    with pytest.raises(ValueError, match='needs dof >= 1, got 0'):
        method_stats.t_critical(0.95, 0)


def test_paired_gain_by_hand():
    # the RCKA / student seeds: differences 0.4, 5.1, 0.8; mean 2.1;
    # deviations -1.7, 3.0, -1.3; squares 2.89 + 9 + 1.69 = 13.58; / 2 = 6.79;
    # std 2.605763; half width 4.302653 * 2.605763 / sqrt(3) = 11.211694 / 1.732051
    # = 6.473074
    student = {0: 90.1, 1: 85.4, 2: 90.5}
    rcka = {0: 90.5, 1: 90.5, 2: 91.3, 7: 99.0}  # seed 7: no student run, left out
    gain = method_stats.paired_gain(rcka, student)
    assert gain.n == 3
    assert gain.mean == pytest.approx(2.1, abs=1e-9)
    assert gain.low == pytest.approx(2.1 - 6.473074, abs=1e-5)
    assert gain.high == pytest.approx(2.1 + 6.473074, abs=1e-5)
    assert gain.verdict == 'within noise'


@pytest.mark.parametrize('diffs,verdict', [([2.0, 3.0, 4.0], 'better'),
                                           ([-2.0, -3.0, -4.0], 'worse'),
                                           ([1.0, 2.0, 3.0], 'within noise')])
def test_paired_gain_verdicts(diffs, verdict):
    # differences d, d+1, d+2: std 1, half width 4.302653 / sqrt(3) = 2.484138
    student = {seed: 50.0 for seed in range(3)}
    method = {seed: 50.0 + d for seed, d in enumerate(diffs)}
    gain = method_stats.paired_gain(method, student)
    mean = sum(diffs) / 3
    assert (gain.low, gain.high) == pytest.approx((mean - 2.484138, mean + 2.484138),
                                                  abs=1e-5)
    assert gain.verdict == verdict


def test_paired_gain_one_seed_and_no_common_seed():
    gain = method_stats.paired_gain({0: 2.0}, {0: 1.5, 1: 1.0})
    assert gain == (0.5, None, None, 1, 'n/a (needs 2 paired seeds)')
    with pytest.raises(ValueError, match=r'no seed in common: the method has seeds '
                       r'\[3\], the student \[0, 1\]'):
        method_stats.paired_gain({3: 1.0}, {0: 1.0, 1: 2.0})


# --------------------------------------------------------------------------- logs


def _write_session(work_dir: Path, timestamp: str, records) -> None:
    path = work_dir / timestamp / 'vis_data' / 'scalars.json'
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))


def test_read_run_merges_sessions_and_reads_overhead(tmp_path):
    # what LoggerHook writes: training lines carry 'iter', validation lines only 'step'
    _write_session(tmp_path, '20260101_000000', [
        dict(iter=10, epoch=1, step=10, loss=2.0, time=0.30, memory=100),
        dict(step=1, **{'accuracy/top1': 40.0, 'teacher.accuracy/top1': 90.0}),
        dict(iter=20, epoch=2, step=20, loss=1.5, time=0.10, memory=120),
        dict(step=2, **{'accuracy/top1': 50.0}),  # logged, then the run was killed
    ])
    _write_session(tmp_path, '20260101_010000', [  # resumed from epoch 1's checkpoint
        dict(iter=20, epoch=2, step=20, loss=1.4, time=0.20, memory=110),
        dict(step=2, **{'accuracy/top1': 55.0}),
        dict(step=3, **{'accuracy/top1': 60.0, 'teacher.accuracy/top1': 91.0}),
    ])
    result = compare.read_run(tmp_path, 'accuracy/top1', 12.5)
    assert result.curve == {1: 40.0, 2: 55.0, 3: 60.0}
    assert result.final == 60.0
    assert result.sec_per_iter == pytest.approx(0.20)  # median of 0.3, 0.1, 0.2
    assert result.memory_mb == 120
    assert result.teacher_metric == 91.0
    assert result.train_seconds == 12.5


def test_read_run_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match='log with LocalVisBackend'):
        compare.read_run(tmp_path, 'accuracy/top1', 0.0)
    _write_session(tmp_path, '20260101_000000', [
        dict(iter=1, epoch=1, step=1, loss=1.0, time=0.1),
        dict(step=1, **{'coco/bbox_mAP': 0.3}),
    ])
    with pytest.raises(KeyError, match=r"no validation logged `accuracy/top1`; its "
                       r"validation scalars are \['coco/bbox_mAP'\]"):
        compare.read_run(tmp_path, 'accuracy/top1', 0.0)
    result = compare.read_run(tmp_path, 'coco/bbox_mAP', 0.0)
    assert result.memory_mb is None  # CPU runs log no memory


# ------------------------------------------------------------ fake-trainer suites


def _fake_suite(tmp_path: Path, methods=('A', 'B')) -> Path:
    config = tmp_path / 'model.py'
    config.write_text('model = dict(type="Fake")\n')
    method_list = ', '.join(f"dict(name='{m}', config='{config}', "
                            f"cfg_options={{'model.gain': {i + 1}}})"
                            for i, m in enumerate(methods))
    suite = tmp_path / 'suite.py'
    suite.write_text(f"teacher = dict(config='{config}')\n"
                     f"student = dict(config='{config}')\n"
                     f'methods = [{method_list}]\n'
                     "metric = 'acc'\n"
                     "cfg_options = {'model.budget': 7}\n")
    return suite


class FakeTrainer:
    """Stands in for tools/train.py: logs one epoch of scalars, saves a checkpoint;
    the metric is 50 + 10 * gain + seed (gain from the written config)."""

    def __init__(self, fail_on=None):
        self.commands = []
        self.fail_on = fail_on

    def __call__(self, cmd, cwd, env, stdout, stderr):
        self.commands.append(cmd)
        work_dir = Path(cmd[cmd.index('--work-dir') + 1])
        if self.fail_on and self.fail_on in str(work_dir):
            stdout.write('Traceback: the fake training broke\n')
            return subprocess.CompletedProcess(cmd, 1)
        cfg = Config.fromfile(cmd[2])
        assert work_dir.name == 'teacher' or cfg.model.budget == 7
        seed = int(next(a for a in cmd if a.startswith('randomness.seed=')).split('=')[1])
        value = 50.0 + 10 * cfg.model.get('gain', 0) + seed
        _write_session(work_dir, f'2026010{len(self.commands)}_000000', [
            dict(iter=4, epoch=1, step=4, loss=1.0,
                 time=0.1 * (1 + cfg.model.get('gain', 0))),
            dict(step=1, acc=value)])
        ckpt = work_dir / 'epoch_1.pth'
        ckpt.write_text('weights')
        (work_dir / 'last_checkpoint').write_text(str(ckpt))
        return subprocess.CompletedProcess(cmd, 0)


def _main(suite: Path, work_dir: Path, *extra: str) -> int:
    return compare.main([str(suite), '--seed-list', '0', '1', '--work-dir', str(work_dir),
                         *extra])


def test_runs_aggregates_then_skips_finished_runs(tmp_path, monkeypatch, capsys):
    suite = _fake_suite(tmp_path)
    fake = FakeTrainer()
    monkeypatch.setattr(compare.subprocess, 'run', fake)
    work = tmp_path / 'work'
    assert _main(suite, work, '--cfg-options', 'train_cfg.max_epochs=1') == 0
    # teacher, then per seed: student, A, B
    assert len(fake.commands) == 7
    teacher_ckpt = str(work / 'teacher' / 'epoch_1.pth')
    for cmd in fake.commands[1:]:
        assert cmd[-1] == 'train_cfg.max_epochs=1'
        assert (f'model.teacher_ckpt={teacher_ckpt}' in cmd) == ('/student/' not in cmd[2])
    board = json.loads((work / 'results.json').read_text())
    rows = {row['name']: row for row in board['methods']}
    assert [row['name'] for row in board['methods']] == ['B', 'A', 'student']
    assert rows['A']['values'] == {'0': 60.0, '1': 61.0}
    assert rows['A']['mean'] == 60.5 and rows['A']['n'] == 2
    assert rows['A']['std'] == pytest.approx(0.70710678)
    # paired differences are exactly 10 on both seeds: a zero-width interval
    assert rows['A']['gain'] == dict(mean=10.0, low=10.0, high=10.0, n=2, verdict='better')
    assert rows['B']['time_ratio'] == pytest.approx(3.0)
    assert rows['student']['gain'] is None
    assert board['teacher']['metric'] == 50.0
    table = (work / 'results.md').read_text()
    assert '| 1 | B | 70.50 ± 0.71 | 2 | +20.00 [+20.00, +20.00] | better |' in table
    assert '| 3 | **student** | 50.50 ± 0.71 | 2 | - | - | 0.100 (1.00x) | n/a |' in table
    assert (work / 'leaderboard.png').stat().st_size > 0
    assert (work / 'curves.png').stat().st_size > 0
    out = capsys.readouterr().out
    assert 'run 7/7 B seed 1: done in' in out and 'ETA 0m00s' in out
    # everything finished: a second call trains nothing and writes the same leaderboard
    fake.commands.clear()
    assert _main(suite, work) == 0
    assert fake.commands == []
    assert out.count('skipped') == 0
    assert capsys.readouterr().out.count('finished earlier') == 7
    assert json.loads((work / 'results.json').read_text())['methods'] == board['methods']


def test_interrupted_runs_resume_or_restart(tmp_path, monkeypatch):
    suite = _fake_suite(tmp_path, methods=('A', ))
    work = tmp_path / 'work'
    fake = FakeTrainer()
    monkeypatch.setattr(compare.subprocess, 'run', fake)
    # an interrupted run with a checkpoint: resumed
    interrupted = work / 'A' / 'seed0'
    interrupted.mkdir(parents=True)
    (interrupted / 'epoch_1.pth').write_text('half-trained')
    (interrupted / 'last_checkpoint').write_text(str(interrupted / 'epoch_1.pth'))
    # an interrupted run without a checkpoint: restarted from an empty work dir
    started = work / 'student' / 'seed1'
    _write_session(started, '20250101_000000', [dict(step=1, acc=1.0)])
    assert _main(suite, work) == 0
    by_dir = {Path(c[c.index('--work-dir') + 1]): c for c in fake.commands}
    assert '--resume' in by_dir[interrupted]
    assert '--resume' not in by_dir[started]
    assert not (started / '20250101_000000').exists()
    assert sum('--resume' in c for c in fake.commands) == 1


def test_a_failed_run_stops_the_benchmark_and_counts_nothing(tmp_path, monkeypatch):
    suite = _fake_suite(tmp_path, methods=('A', ))
    work = tmp_path / 'work'
    monkeypatch.setattr(compare.subprocess, 'run', FakeTrainer(fail_on='A/seed0'))
    with pytest.raises(compare.RunFailed, match=r'(?s)A seed 0 failed \(exit code 1\); '
                       r'the end of .*train\.log:\nTraceback: the fake training broke'):
        _main(suite, work)
    assert not (work / 'A' / 'seed0' / compare.RESULT_FILE).exists()
    assert (work / 'student' / 'seed0' / compare.RESULT_FILE).exists()
    assert not (work / 'A' / 'seed1').exists()  # nothing new starts after a failure
    assert not (work / 'results.json').exists()


def test_train_run_shows_the_progress_its_log_gains(tmp_path, monkeypatch):
    """The board follows the run's train.log from where it ends (a resumed run appends
    to it) while the run trains, and forgets it after."""
    suite = compare.load_suite(str(_fake_suite(tmp_path, methods=('A', ))))
    run = next(r for r in compare.plan_runs(suite, [0], tmp_path / 'work')
               if r.name == 'student')
    run.work_dir.mkdir(parents=True)
    (run.work_dir / 'epoch_1.pth').write_text('half-trained')
    (run.work_dir / 'last_checkpoint').write_text(str(run.work_dir / 'epoch_1.pth'))
    (run.work_dir / 'train.log').write_text(  # the interrupted session's output
        'Epoch(train) [1][10/10]  lr: 1.0000e-02  eta: 0:00:09  time: 0.3  loss: 9.0\n')
    stream = io.StringIO()
    board = compare.ProgressBoard('[compare]', stream=stream)
    fake = FakeTrainer()

    def train(cmd, cwd, env, stdout, stderr):
        assert '--resume' in cmd
        stdout.write('12/06 14:14:06 - mmengine - INFO - Epoch(train) [2][ 4/10]  '
                     'lr: 5.3287e-03  eta: 0:00:01  time: 0.2825  data_time: 0.0308  '
                     'loss: 1.9061  student.loss: 1.3883  distill.loss_fcka: 0.5160\n')
        stdout.flush()
        board.refresh()  # what the board's thread does every second
        return fake(cmd, cwd, env, stdout, stderr)

    monkeypatch.setattr(compare.subprocess, 'run', train)
    launch = compare.Launch('none', 1, None, False, [], suite.teacher_ckpt_key)
    assert compare.train_run(run, launch, None, 'acc', {}, board).final == 50.0
    assert stream.getvalue() == ('[compare] student seed 0: epoch 2 iter 4/10 loss 1.906 '
                                 'ETA 0:00:01\n')
    assert board.followers == {} and board.statuses == {}


def test_dry_run_prints_one_line_per_run_and_trains_nothing(tmp_path, monkeypatch,
                                                            capsys):
    suite = _fake_suite(tmp_path)
    fake = FakeTrainer()
    monkeypatch.setattr(compare.subprocess, 'run', fake)
    work = tmp_path / 'work'
    assert _main(suite, work, '--dry-run', '--launcher', 'pytorch', '--gpus', '4') == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 7 and fake.commands == [] and not work.exists()
    assert lines[0].startswith('[plan] run 1/7 teacher seed 0 [new]: bash ')
    assert f"dist_train.sh {work / 'teacher' / 'config.py'} 4 --work-dir" in lines[0]
    assert lines[3].startswith('[plan] run 4/7 B seed 0 [new]: ')
    assert f"model.teacher_ckpt=<checkpoint of {work / 'teacher'}>" in lines[3]
    assert 'randomness.seed=0 randomness.deterministic=False' in lines[3]


def test_suite_errors_name_the_problem(tmp_path):
    config = tmp_path / 'model.py'
    config.write_text('model = dict()\n')

    def suite(text: str) -> str:
        path = tmp_path / 'bad_suite.py'
        path.write_text(f"teacher = dict(config='{config}')\nstudent = dict(config="
                        f"'{config}')\nmetric = 'acc'\n" + text)
        return str(path)

    with pytest.raises(ValueError, match=r"unknown keys \['method'\]"):
        compare.load_suite(suite(f"methods = [dict(name='A', config='{config}')]\n"
                                 f"method = 1\n"))
    with pytest.raises(ValueError,
                       match=r"other than 'student' / 'teacher', got 'student'"):
        compare.load_suite(suite(f"methods = [dict(name='student', config='{config}')]\n"))
    with pytest.raises(ValueError, match=r"duplicate method names \['A'\]"):
        compare.load_suite(suite(f"methods = [dict(name='A', config='{config}')] * 2\n"))
    with pytest.raises(FileNotFoundError, match=r'methods\[0\] \(A\): configs/nope.py does '
                       r'not exist \(paths in a suite are relative to the repository root'):
        compare.load_suite(suite("methods = [dict(name='A', config='configs/nope.py')]\n"))
    with pytest.raises(ValueError, match=r"unknown keys \['lr'\]; allowed: name, config"):
        compare.load_suite(suite(f"methods = [dict(name='A', config='{config}', lr=1)]\n"))
    methods = f"methods = [dict(name='A', config='{config}')]\n"
    with pytest.raises(ValueError, match='teacher: give either `config` .* not both'):
        compare.load_suite(suite(methods + f"teacher = dict(config='{config}', "
                                 f"checkpoint='https://x/t.pth')\n"))
    with pytest.raises(ValueError, match=r"teacher must be dict\(config=.*or "
                       r"dict\(checkpoint="):
        compare.load_suite(suite(methods + 'teacher = dict(seed=1)\n'))


# ---------------------------------------------------------------------- end to end


@pytest.fixture(scope='module')
def tiny_shapes(tmp_path_factory):
    out = tmp_path_factory.mktemp('shapes_tiny')
    subprocess.run([sys.executable, str(ROOT / 'tools' / 'generate_shapes_dataset.py'),
                    '--out', str(out), '--num-train', '16', '--num-val', '8'],
                   check=True, cwd=ROOT)
    return out


def test_end_to_end_tiny_suite(tiny_shapes, tmp_path):
    shapes = 'configs/rcka/shapes/'
    logits = "dict(type='ModuleOutputs', source='head.fc')"
    suite = tmp_path / 'tiny_suite.py'
    suite.write_text(f"""
teacher = dict(config='{shapes}resnet20_1xb32_shapes.py')
student = dict(config='{shapes}resnet8_1xb32_shapes.py')
methods = [
    dict(name='RCKA', config='{shapes}rcka_resnet20_resnet8_1xb32_shapes.py'),
    dict(name='KD', config='{shapes}rcka_resnet20_resnet8_1xb32_shapes.py',
         cfg_options={{'model.distiller': dict(
             _delete_=True, type='ConfigurableDistiller',
             student_recorders=dict(logits={logits}),
             teacher_recorders=dict(logits={logits}),
             distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4)),
             loss_forward_mappings=dict(loss_kd=dict(
                 preds_S=dict(from_student=True, recorder='logits'),
                 preds_T=dict(from_student=False, recorder='logits'))))}}),
]
metric = 'accuracy/top1'
""")
    work = tmp_path / 'work'
    options = [f'{loader}.dataset.data_root={tiny_shapes}/' for loader in
               ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    options += ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1']
    cmd = [sys.executable, str(ANALYSIS / 'compare_methods.py'), str(suite), '--seeds', '2',
           '--work-dir', str(work), '--jobs', '2', '--cfg-options', *options]
    env = dict(os.environ, OMP_NUM_THREADS='1')
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    board = json.loads((work / 'results.json').read_text())
    assert sorted(row['name'] for row in board['methods']) == ['KD', 'RCKA', 'student']
    for row in board['methods']:
        assert row['n'] == 2 and set(row['values']) == {'0', '1'}
        assert all(0 <= v <= 100 for v in row['values'].values())
        assert row['curve'].keys() == {'1'}
        if row['name'] != 'student':
            assert row['gain']['n'] == 2 and row['gain']['verdict'] in (
                'better', 'worse', 'within noise')
    # the KD override replaced RCKA's losses in the written config
    distiller = Config.fromfile(str(work / 'KD' / 'seed0' / 'config.py')).model.distiller
    assert list(distiller.distill_losses) == ['loss_kd']
    assert distiller.distill_losses.loss_kd.type == 'KLDivergence'
    for name in ('results.md', 'leaderboard.png', 'curves.png'):
        assert (work / name).stat().st_size > 0
    assert 'run 7/7' in proc.stdout
    # the dependencies' warnings nobody can act on are hidden, in the tool and in every
    # training it started (tools/dependency_warnings.py)
    for output in [proc.stderr, *(log.read_text() for log in work.glob('**/train.log'))]:
        assert 'pkg_resources is deprecated' not in output
    # the same seeds, other runs: seed 1's student was trained once and is reused
    rerun = subprocess.run(cmd[:3] + ['--seed-list', '1'] + cmd[5:], cwd=tmp_path, env=env,
                           capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    assert rerun.stdout.count('finished earlier') == 4
    assert 'training (' not in rerun.stdout


# ----------------------------------------------------------------- shipped suites


def _suite_runs_with_new_configs():
    """(suite, run name) of every run whose config was written for a suite
    (configs/benchmarks/<data>/) or changed by the suite's overrides; the shipped configs
    the others use unchanged (RCKA, FKD, mAKD, PCKA, the teachers) are trained one step
    by tests/test_configs. A run that another suite repeats unchanged is tested once."""
    cases, seen = [], set()
    for suite_path in sorted(SHIPPED_SUITES):
        suite = compare.load_suite(str(ROOT / suite_path))
        for entry in [suite.student, *suite.methods]:
            run = (entry.config, repr({**suite.cfg_options, **entry.cfg_options}))
            new_config = ((ROOT / 'configs' / 'benchmarks') in entry.config.parents
                          or entry.cfg_options)
            if new_config and run not in seen:
                seen.add(run)
                cases.append((suite_path, entry.name))
    return cases


@pytest.mark.parametrize('suite_path', sorted(SHIPPED_SUITES))
def test_suite_plan_and_dry_run(suite_path, tmp_path, capsys):
    metric, methods = SHIPPED_SUITES[suite_path]
    suite = compare.load_suite(suite_path)
    assert suite.metric == metric
    assert [m.name for m in suite.methods] == methods
    assert compare.main([suite_path, '--seeds', '3', '--work-dir', str(tmp_path),
                         '--launcher', 'pytorch', '--gpus', '4', '--dry-run']) == 0
    lines = capsys.readouterr().out.splitlines()
    has_teacher = suite.teacher.config is not None
    assert len(lines) == has_teacher + 3 * (1 + len(methods))
    assert all(' [new]: bash ' in line and 'dist_train.sh' in line for line in lines)
    assert not tmp_path.joinpath('student').exists()


@pytest.mark.parametrize('suite_path,name', _suite_runs_with_new_configs())
def test_suite_config_trains_one_step(suite_path, name, tmp_path, monkeypatch):
    """The run's written config (the suite's overrides merged) builds its model and
    trains one step on a synthetic batch."""
    import config_smoke
    if name == 'FBKD':
        # its non-local blocks max-pool FPN level 3 (stride 64) twice: 128 px images
        # leave nothing to pool (COCO's are 800 x 1333)
        monkeypatch.setattr(config_smoke, 'DET_IMAGE_SIZE', 256)
    suite = compare.load_suite(suite_path)
    run = next(run for run in compare.plan_runs(suite, [0], tmp_path) if run.name == name)
    config = compare.write_run_config(run)
    written = Config.fromfile(str(config))
    for key, value in run.cfg_options.items():
        node = written
        for part in key.split('.'):
            node = node[part]
        assert node == value, (key, node, value)
    losses = config_smoke.run_one_train_step(str(config))
    distill = [key for key in losses if key.startswith('distill.')]
    assert bool(distill) == run.distills, losses
