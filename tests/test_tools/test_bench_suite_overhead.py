"""tools/benchmarks/bench_suite_overhead.py: a suite's training overhead, one training
at a time.

- the measurement order (ABBA), the chosen entries and the errors, in process;
- the default teacher checkpoint: compare_methods' trained teacher, or an error that
  names the fix;
- the timing hook: which iterations it times and when it stops the training;
- end to end on a tiny suite (student, 3 methods of which ``--methods`` keeps one,
  2 rounds of 1 + 2 iterations): one fresh training process per measurement; KDA,
  whose landmark hook needs the config's epoch-based loop, timed after its warm-up
  epoch; a schedule too short for the measurement fails with the fix.
"""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config

from mmrazor_relkd.datasets import generate_shapes_dataset

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / 'tools' / 'benchmarks' / 'bench_suite_overhead.py'
SHAPES = ROOT / 'configs' / 'rcka' / 'shapes'
TEACHER_CONFIG = SHAPES / 'resnet20_1xb32_shapes.py'
KD_CONFIG = ROOT / 'configs' / 'benchmarks' / 'shapes' / 'kd_resnet20_resnet8_shapes.py'
KDA_CONFIG = (ROOT / 'configs' / 'kda' / 'shapes' /
              'kda_before-fc_resnet20_resnet8_1xb32_shapes.py')

spec = importlib.util.spec_from_file_location('bench_suite_overhead', SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def _suite(directory: Path, data_root: Path) -> Path:
    """Student ResNet-8 and two methods on ``data_root``, batch 4 (the tiny dataset
    then has more iterations per epoch than a measurement trains)."""
    suite = directory / 'tiny_overhead_suite.py'
    suite.write_text(f"""
teacher = dict(config='{TEACHER_CONFIG}')
student = dict(config='{SHAPES / 'resnet8_1xb32_shapes.py'}')
methods = [
    dict(name='RCKA', config='{SHAPES / 'rcka_resnet20_resnet8_1xb32_shapes.py'}'),
    dict(name='KD', config='{KD_CONFIG}'),
    dict(name='KDA', config='{KDA_CONFIG}'),
]
metric = 'accuracy/top1'
cfg_options = {{'data_root': '{data_root}/', 'train_dataloader.batch_size': 4}}
""")
    return suite


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """A tiny shapes dataset, the suite on it and a checkpoint of its teacher."""
    from mmpretrain.registry import MODELS
    out = tmp_path_factory.mktemp('overhead')
    generate_shapes_dataset(str(out / 'shapes'), 16, 8, 128, 0)
    torch.manual_seed(0)
    teacher = MODELS.build(Config.fromfile(str(TEACHER_CONFIG)).model)
    checkpoint = out / 'teacher.pth'
    torch.save(dict(state_dict=teacher.state_dict()), checkpoint)
    return _suite(out, out / 'shapes'), checkpoint


def test_measurement_order_alternates_rounds():
    assert bench.measurement_order(['student', 'A', 'B'], 3) == [
        (0, 'student'), (0, 'A'), (0, 'B'), (1, 'B'), (1, 'A'), (1, 'student'),
        (2, 'student'), (2, 'A'), (2, 'B')]


def test_plan_keeps_the_student_and_the_chosen_methods(tiny, tmp_path):
    suite = bench.compare.load_suite(str(tiny[0]))
    runs = bench.plan(suite, None, tmp_path)
    assert [run.name for run in runs] == ['student', 'RCKA', 'KD', 'KDA']
    assert [run.distills for run in runs] == [False, True, True, True]
    assert all(run.cfg_options['train_dataloader.batch_size'] == 4 for run in runs)
    assert [run.name for run in bench.plan(suite, ['KD'], tmp_path)] == ['student', 'KD']
    with pytest.raises(ValueError, match=re.escape(
            "--methods: ['Nope'] not in tiny_overhead_suite.py; its methods are "
            "['RCKA', 'KD', 'KDA'] (the student is always measured)")):
        bench.plan(suite, ['KD', 'Nope'], tmp_path)


def test_default_teacher_checkpoint_is_compare_methods_teacher(tiny, tmp_path,
                                                              monkeypatch):
    monkeypatch.setattr(bench.compare, 'REPO', tmp_path)
    suite = bench.compare.load_suite(str(tiny[0]))
    teacher_dir = tmp_path / 'work_dirs' / 'benchmarks' / 'tiny_overhead_suite' / 'teacher'
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"no teacher checkpoint for tiny_overhead_suite.py: "
            f"{teacher_dir / 'result.json'} does not exist")) as error:
        bench.default_teacher_checkpoint(suite)
    assert 'pass --teacher-checkpoint PATH' in str(error.value)
    teacher_dir.mkdir(parents=True)
    bench.compare.save_result(teacher_dir, bench.compare.RunResult(
        final=90.0, curve={1: 90.0}, sec_per_iter=0.1, memory_mb=None,
        teacher_metric=None, train_seconds=1.0, checkpoint=str(tiny[1])))
    assert bench.default_teacher_checkpoint(suite) == str(tiny[1])
    with_checkpoint = suite._replace(teacher=suite.teacher._replace(
        config=None, checkpoint='https://example.org/teacher.pth'))
    assert bench.default_teacher_checkpoint(with_checkpoint) == \
        'https://example.org/teacher.pth'


def test_main_errors_before_any_training(tiny, tmp_path, monkeypatch):
    suite = str(tiny[0])
    monkeypatch.setattr(bench, 'measure', pytest.fail)  # nothing may train
    with pytest.raises(ValueError, match=r"--methods: \['DKD'\] not in"):
        bench.main([suite, '--teacher-checkpoint', str(tiny[1]), '--methods', 'DKD'])
    missing = tmp_path / 'missing.pth'
    with pytest.raises(FileNotFoundError, match=re.escape(
            f'teacher checkpoint {missing} does not exist; pass --teacher-checkpoint')):
        bench.main([suite, '--teacher-checkpoint', str(missing)])
    monkeypatch.setattr(bench.compare, 'REPO', tmp_path)
    with pytest.raises(FileNotFoundError, match='no teacher checkpoint for '
                       'tiny_overhead_suite.py: .* compare_methods trains the '
                       'teacher first: run `python tools/analysis/compare_methods.py'):
        bench.main([suite])


def test_a_measurement_trains_what_compare_methods_trains_and_reports_failures(
        tiny, tmp_path, monkeypatch):
    suite = bench.compare.load_suite(str(tiny[0]))
    run = bench.plan(suite, ['KD'], tmp_path)[1]
    bench.compare.write_run_config(run)
    launch = bench.compare.Launch('none', 1, None, False, ['optim_wrapper.clip_grad=None'],
                                  suite.teacher_ckpt_key)
    commands = []

    def fail(cmd, cwd, env, stdout, stderr):
        commands.append((cmd, env))
        stdout.write('Traceback: the measured training broke\n')
        return subprocess.CompletedProcess(cmd, 1)

    monkeypatch.setattr(bench.subprocess, 'run', fail)
    with pytest.raises(bench.compare.RunFailed, match=r'KD \(round 2\) failed \(exit code '
                       r'1\); the end of its output:\nTraceback: the measured training '
                       r'broke'):
        bench.measure(run, 1, launch, str(tiny[1]), 4, 1, 2, 3)
    (cmd, env), = commands
    train_args = bench.compare.train_command(run, launch, str(tiny[1]), False)[2:]
    assert cmd == [sys.executable, str(SCRIPT), bench.MEASURE, '4', '1', '2',
                   str(run.work_dir / 'round1.json'), *train_args]
    assert f'model.teacher_ckpt={tiny[1]}' in train_args
    assert train_args[-1] == 'optim_wrapper.clip_grad=None'
    assert env['OMP_NUM_THREADS'] == env['MKL_NUM_THREADS'] == '3'


class _Scalar:
    def __init__(self, value: float) -> None:
        self.value = value

    def current(self) -> float:
        return self.value


class _Runner:
    """What IterationTimes reads: the global iteration, the dataloader's length and
    the logged iteration time (here 100 + the iteration's index)."""
    train_dataloader = range(10)

    def __init__(self) -> None:
        self.iter = 0
        self.message_hub = self

    def get_scalar(self, key: str) -> _Scalar:
        assert key == 'train/time'
        return _Scalar(100.0 + self.iter)


@pytest.mark.parametrize('warmup_epochs,warmup,first', [(0, 0, 0), (0, 3, 3), (1, 0, 10),
                                                        (2, 3, 23)])
def test_iteration_times_skip_the_warm_up_then_stop_the_training(warmup_epochs, warmup,
                                                                 first):
    hook, runner = bench.IterationTimes(warmup_epochs, warmup, 4), _Runner()
    assert hook.first_timed_iter(runner) == first
    for index in range(first + 3):
        runner.iter = index
        hook.after_train_iter(runner, index % 10)
    assert hook.times == [100.0 + first, 101.0 + first, 102.0 + first]
    runner.iter = first + 3
    with pytest.raises(bench.EnoughIterations):
        hook.after_train_iter(runner, runner.iter % 10)
    assert hook.times == [100.0 + first + i for i in range(4)]


def test_kda_is_timed_with_its_epoch_based_loop_after_its_warm_up_epoch(tiny, tmp_path):
    suite, checkpoint = tiny
    args = [str(suite), '--teacher-checkpoint', str(checkpoint), '--warmup-epochs', '1',
            '--iters', '2', '--warmup', '0', '--rounds', '1', '--methods', 'KDA']
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert re.findall(r'^\[overhead\] \d/2 round 1 (\w+): ', proc.stdout, re.MULTILINE) == \
        ['student', 'KDA']
    assert 'after 1 warm-up epoch(s) and 0 warm-up iterations' in proc.stdout
    short = [str(suite), '--teacher-checkpoint', str(checkpoint), '--warmup-epochs', '2',
             '--rounds', '1', '--methods', 'KD', '--cfg-options', 'train_cfg.max_epochs=2']
    proc = subprocess.run([sys.executable, str(SCRIPT), *short], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode != 0
    assert re.search(r'RunFailed: student \(round 1\) failed .*RuntimeError: the training '
                     r'ended after 16 iterations, before the measurement had its 40 timed '
                     r'iterations \(the first one is iteration 21: 2 warm-up epoch\(s\) of '
                     r'8 iterations and 5 warm-up iterations\); lower --warmup-epochs, '
                     r'--warmup or --iters', proc.stderr, re.DOTALL), proc.stderr[-3000:]


def test_end_to_end_one_training_at_a_time(tiny, tmp_path):
    suite, checkpoint = tiny
    out = tmp_path / 'overhead.md'
    args = [str(suite), '--teacher-checkpoint', str(checkpoint), '--iters', '2',
            '--warmup', '1', '--rounds', '2', '--methods', 'KD', '--out', str(out)]
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], cwd=tmp_path,
                          env=dict(os.environ, OMP_NUM_THREADS='4'), capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    steps = re.findall(r'^\[overhead\] (\d)/4 round (\d) (\w+): [\d.]+ s/iter, peak RSS '
                       r'\d+ MiB$', proc.stdout, re.MULTILINE)
    assert steps == [('1', '1', 'student'), ('2', '1', 'KD'), ('3', '2', 'KD'),
                     ('4', '2', 'student')]
    table = out.read_text()
    assert table in proc.stdout
    assert f"Command: `python tools/benchmarks/bench_suite_overhead.py {' '.join(args)}`" \
        in table
    # --threads 1 (the default) reached the trainings, whatever the parent's setting
    assert '1 thread(s) per training (OMP_NUM_THREADS = MKL_NUM_THREADS = 1)' in table
    assert f'torch {torch.__version__}' in table
    assert 'its dataloader workers are not included' in table
    rows = re.findall(r'^\| (\S+) \| ([\d.]+) \| ([\d.]+) \| (\d+) \|$', table,
                      re.MULTILINE)
    assert [row[0] for row in rows] == ['**student**', 'KD']
    assert rows[0][2] == '1.00'
    for _, seconds, ratio, rss in rows:
        assert float(seconds) > 0 and float(ratio) > 0 and int(rss) > 0
    assert float(rows[1][2]) == pytest.approx(float(rows[1][1]) / float(rows[0][1]),
                                              abs=0.02)
    assert not (ROOT / 'work_dirs' / 'benchmarks' / 'tiny_overhead_suite').exists()
