"""The parts of the GPU check (tools/gpu_check/) that need no GPU: the plan, the
deadline logic, the install from a local folder, mmcv's provision order, the
verdicts, the table and ``--dry-run``."""
import argparse
import base64
import hashlib
import json
import math
import shlex
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]
GPU_CHECK = REPO / 'tools' / 'gpu_check'
sys.path.insert(0, str(GPU_CHECK))
import check_plan  # noqa: E402
import compare_weights  # noqa: E402
import local_wheels  # noqa: E402
import prepare  # noqa: E402
import provide_mmcv  # noqa: E402
import results_table  # noqa: E402
import run_check  # noqa: E402
import step_runner  # noqa: E402
import verdicts  # noqa: E402
from check_plan import Step  # noqa: E402
from step_runner import Outcome, StepRunner  # noqa: E402

#: the toy distillation configs as the other toy-config tests find them
#: (tests/test_amp, tests/test_checkpoints), and mAKD + GNoRP of the suite
TOY_PATTERNS = ('configs/shapes/pcka_*.py', 'configs/rcka/shapes/rcka_*.py',
                'configs/kda/shapes/*.py', 'configs/fkd/*_shapes.py',
                'configs/benchmarks/shapes/makd-gnorp_*.py')


def _plan(tmp_path: Path, install: bool = True):
    return check_plan.build_plan('py', tmp_path / 'wheels', tmp_path / 'site',
                                 tmp_path / 'work', tmp_path / 'out', install=install)


def _by_name(steps):
    return {step.name: step for step in steps}


# --- the plan ---------------------------------------------------------------------

def test_every_toy_distillation_config_trains_in_fp32_and_with_amp(tmp_path):
    toys = sorted(str(p.relative_to(REPO)) for pattern in TOY_PATTERNS
                  for p in REPO.glob(pattern))
    assert sorted(toy.path for toy in check_plan.TOY_CONFIGS) == toys
    steps = _by_name(_plan(tmp_path))
    for toy in check_plan.TOY_CONFIGS:
        fp32, amp = steps[f'train-{toy.method}-fp32'], steps[f'train-{toy.method}-amp']
        for step in (fp32, amp):
            (command,) = step.commands
            assert command[:3] == ('py', 'tools/train.py', toy.path)
            assert step.needs == ('env', 'mmcv', 'data') and step.parallel
        assert '--amp' in amp.commands[0] and '--amp' not in fp32.commands[0]


def _merged_config(toy, options):
    """The toy's config with ``options`` applied the way tools/train.py does."""
    from mmengine.config import Config, DictAction
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    cfg = Config.fromfile(str(REPO / toy.path))
    cfg.merge_from_dict(parser.parse_args(['--cfg-options', *options]).cfg_options)
    return cfg


@pytest.mark.parametrize('toy', check_plan.TOY_CONFIGS, ids=lambda toy: toy.method)
def test_toy_options_give_twenty_iterations_with_random_teachers(toy, tmp_path):
    cfg = _merged_config(toy, check_plan.toy_options(toy, str(tmp_path)))
    assert cfg.train_dataloader.batch_size == toy.batch
    assert cfg.train_dataloader.dataset.indices == 10 * toy.batch
    assert cfg.train_cfg.max_epochs == 2 and cfg.train_cfg.val_begin == 3
    assert cfg.default_hooks.logger.interval == 1
    assert cfg.data_root == f'{tmp_path}/'
    assert cfg.model.allow_random_teacher is True
    if toy.ensemble:
        assert cfg.model.teacher.checkpoints == [None] * toy.ensemble
        assert len(cfg.model.teacher.teachers) == toy.ensemble
    else:
        assert cfg.model.teacher_ckpt is None and cfg.model.teacher.type != 'TeacherEnsemble'
    validated = _merged_config(toy, check_plan.toy_options(toy, str(tmp_path), validate=True))
    assert validated.train_cfg.val_begin == 2


def test_resume_steps_resume_mid_epoch_and_compare_the_last_checkpoints(tmp_path):
    steps = _by_name(_plan(tmp_path))
    runs = tmp_path / 'work' / 'runs'
    for name, deterministic in (('resume-deterministic', True), ('resume', False)):
        whole, resumed, compare = steps[name].commands
        assert '--resume' not in whole
        checkpoint = resumed[resumed.index('--resume') + 1]
        assert checkpoint == str(runs / f'{name}-whole' / 'iter_15.pth')
        assert compare[1:] == ('tools/gpu_check/compare_weights.py',
                               str(runs / f'{name}-whole' / 'iter_20.pth'),
                               str(runs / f'{name}-resumed' / 'iter_20.pth'))
        assert whole[whole.index('--cfg-options') + 1:] == resumed[
            resumed.index('--cfg-options') + 1:]
        assert f'randomness.deterministic={deterministic}' in whole
        assert ('CUBLAS_WORKSPACE_CONFIG' in steps[name].env) == deterministic
    # iteration 15 lies inside epoch 2 and is a checkpoint
    per_epoch = check_plan.ITERS_PER_EPOCH
    assert per_epoch < check_plan.RESUME_FROM_ITER < 2 * per_epoch
    assert check_plan.RESUME_FROM_ITER % check_plan.CHECKPOINT_EVERY == 0


def test_plan_order_needs_and_the_files_it_runs(tmp_path):
    steps = _plan(tmp_path)
    names = [step.name for step in steps]
    assert names[:4] == ['env', 'install', 'mmcv', 'data']
    assert names[-3:] == ['dist-train', 'bench-pcka-iteration', 'bench-pcka']
    assert len(names) == len(set(names))
    for step in steps:
        assert all(need in names[:names.index(step.name)] for need in step.needs), step.name
        for command in step.commands:
            for argument in command:
                if argument.startswith(('tools/', 'configs/')):
                    assert (REPO / argument).is_file(), argument
    dist = _by_name(steps)['dist-train']
    assert dist.commands[0][:4] == ('bash', 'tools/dist_train.sh', check_plan.DIST_TOY.path,
                                    '1')
    assert dist.env == {'PYTHON': 'py', 'PORT': '29517'}
    bench = _by_name(steps)['bench-pcka-iteration'].commands[0]
    assert ' '.join(bench).endswith('--device cuda --batch 2 --image-size 800 1333 --iters 20 '
                                    f'--config {check_plan.COCO_PCKA_CONFIG}')
    without_install = [step.name for step in _plan(tmp_path, install=False)]
    assert 'install' not in without_install
    assert _by_name(_plan(tmp_path, install=False))['mmcv'].needs == ('env',)


def test_every_step_is_judged_from_its_log_and_exit_status(tmp_path):
    for step in _plan(tmp_path):
        assert step.verdict('$ cmd\nRuntimeError: no GPU\n', 1) == verdicts.Verdict(
            'failed', 'exit 1: RuntimeError: no GPU'), step.name


# --- the runner and its deadline --------------------------------------------------

def _step(name, *commands, budget=60.0, needs=(), parallel=False, verdict=verdicts.ran):
    return Step(name, f'{name} step', tuple(tuple(c) for c in commands), budget, verdict,
                needs=needs, parallel=parallel)


def _runner(tmp_path, steps, deadline_s=60.0, jobs=1, min_start_s=1.0, updates=None):
    updates = [] if updates is None else updates
    return StepRunner(steps, deadline_s, tmp_path / 'logs', tmp_path,
                      {'PATH': '/usr/bin:/bin'}, jobs=jobs, min_start_s=min_start_s,
                      on_update=lambda outcome, outcomes: updates.append(outcome))


def _alive(pid: int) -> bool:
    status = Path(f'/proc/{pid}/status')
    try:
        return 'State:\tZ' not in status.read_text()
    except FileNotFoundError:
        return False


def test_a_step_running_past_the_deadline_is_cut_with_its_children(tmp_path):
    pid_file = tmp_path / 'child.pid'
    # the child ignores SIGTERM, as a training's worker may: only SIGKILL stops it
    child = f'(trap "" TERM; sleep 60) & echo $! > {pid_file}; wait'
    steps = [_step('quick', ['true']),
             _step('sleeper', ['bash', '-c', child], budget=120),
             _step('after', ['true'])]
    updates = []
    outcomes = _runner(tmp_path, steps, deadline_s=3, updates=updates).run()
    assert [(o.name, o.status) for o in outcomes] == [
        ('quick', 'passed'), ('sleeper', step_runner.CUT), ('after', step_runner.NOT_RUN)]
    assert [o.name for o in updates] == ['quick', 'sleeper', 'after']
    assert outcomes[2].seconds is None
    child = int(pid_file.read_text())
    for _ in range(50):  # the killed sleep's parent (init) may take a moment to reap it
        if not _alive(child):
            break
        subprocess.run(['sleep', '0.1'])
    assert not _alive(child)
    assert (tmp_path / 'logs' / 'sleeper.log').read_text().startswith('$ bash -c')


def test_a_step_over_its_own_budget_fails(tmp_path):
    (outcome,) = _runner(tmp_path, [_step('slow', ['sleep', '60'], budget=1)]).run()
    assert outcome.status == step_runner.OVER_BUDGET


def test_a_failed_step_skips_the_steps_that_need_it_and_stops_its_commands(tmp_path):
    marker = tmp_path / 'second-command-ran'
    steps = [_step('broken', ['bash', '-c', 'echo "ValueError: bad config"; exit 3'],
                   ['touch', str(marker)]),
             _step('dependent', ['true'], needs=('broken',)),
             _step('independent', ['true'], needs=('not-in-this-plan',))]
    outcomes = _runner(tmp_path, steps).run()
    assert [(o.status, o.result) for o in outcomes] == [
        ('failed', 'exit 3: ValueError: bad config'), ('skipped', 'needs broken'),
        ('passed', '')]
    assert not marker.exists()


def test_parallel_steps_run_side_by_side(tmp_path):
    """Each waits (up to 20 s) for the other's file: run one after the other, the
    first would give up and fail."""
    def meet(me, other):
        return ['bash', '-c', f'touch {tmp_path / me}; for i in $(seq 200); do '
                f'[ -e {tmp_path / other} ] && exit 0; sleep 0.1; done; exit 1']
    steps = [_step('a', meet('a', 'b'), parallel=True),
             _step('b', meet('b', 'a'), parallel=True)]
    assert [o.status for o in _runner(tmp_path, steps, jobs=2).run()] == ['passed', 'passed']


def test_a_verdict_that_cannot_read_the_output_fails_the_step(tmp_path):
    def unreadable(log, returncode):
        return verdicts.toy_training(tmp_path / 'no-such-run', 20, log, returncode)
    (outcome,) = _runner(tmp_path, [_step('train', ['true'], verdict=unreadable)]).run()
    assert outcome.status == 'failed'
    assert outcome.result.startswith('unreadable output: FileNotFoundError')


# --- verdicts ---------------------------------------------------------------------

def _scalars(work_dir: Path, records, stamp='20260101_000000'):
    vis = work_dir / stamp / 'vis_data'
    vis.mkdir(parents=True)
    # json.dumps writes NaN as mmengine's logger does
    (vis / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))


def _iterations(n, override=None):
    """``n`` logged training iterations; ``override``: iteration -> changed values."""
    return [{'loss': 1.5, 'student.loss_cls': 1.0, 'distill.loss_fkd': 0.5, 'iter': i,
             'step': i, **(override or {}).get(i, {})} for i in range(1, n + 1)]


def test_toy_training_verdicts(tmp_path):
    _scalars(tmp_path / 'old', _iterations(3))
    _scalars(tmp_path / 'good', _iterations(20))
    assert verdicts.toy_training(tmp_path / 'good', 20, '', 0) == verdicts.Verdict(
        'passed', '20 iterations, all losses finite; last: loss 1.5 (distill.loss_fkd 0.5)')
    assert verdicts.toy_training(tmp_path / 'old', 20, '', 0) == verdicts.Verdict(
        'failed', '3 iterations logged, 20 expected')
    _scalars(tmp_path / 'nan', _iterations(20, {7: {'distill.loss_fkd': math.nan}}))
    assert verdicts.toy_training(tmp_path / 'nan', 20, '', 0) == verdicts.Verdict(
        'failed', "iteration 7: non-finite {'distill.loss_fkd': nan}")
    _scalars(tmp_path / 'plain', [{'loss': 1.0, 'iter': i} for i in range(20)])
    assert verdicts.toy_training(tmp_path / 'plain', 20, '', 0).result == (
        'no distillation loss (distill.*) logged')
    failed = verdicts.toy_training(tmp_path / 'good', 20, 'x\nRuntimeError: CUDA out\nend', 1)
    assert failed == verdicts.Verdict('failed', 'exit 1: RuntimeError: CUDA out')


def test_the_newest_run_of_a_work_dir_is_judged(tmp_path):
    _scalars(tmp_path, _iterations(20), stamp='20260101_000000')
    _scalars(tmp_path, _iterations(5), stamp='20260102_000000')
    assert verdicts.toy_training(tmp_path, 20, '', 0).status == 'failed'


def test_distributed_training_needs_a_validation(tmp_path):
    _scalars(tmp_path / 'a', _iterations(20))
    assert verdicts.distributed_training(tmp_path / 'a', 20, 'coco/bbox_mAP', '', 0) == (
        verdicts.Verdict('failed', 'trained, but no validation: no coco/bbox_mAP logged'))
    _scalars(tmp_path / 'b', _iterations(20) + [{'coco/bbox_mAP': 0.012, 'step': 2}])
    validated = verdicts.distributed_training(tmp_path / 'b', 20, 'coco/bbox_mAP', '', 0)
    assert validated.result.endswith('; validated: coco/bbox_mAP 0.012')


def test_resumed_weights_verdict():
    same = json.dumps(dict(tensors=40, differing=0, max_abs_diff=0.0, max_rel_diff=0.0))
    other = json.dumps(dict(tensors=40, differing=3, max_abs_diff=2e-7, max_rel_diff=1e-6))
    assert verdicts.resumed_weights(True, f'log\n{same}\n', 0) == verdicts.Verdict(
        'passed', 'bit-exact: all 40 tensors equal')
    measured = '3 of 40 tensors differ, max |diff| 2e-07 (relative 1e-06)'
    assert verdicts.resumed_weights(True, other, 0) == verdicts.Verdict('failed', measured)
    assert verdicts.resumed_weights(False, other, 0) == verdicts.Verdict('passed', measured)


def test_benchmark_verdicts_read_the_printed_tables():
    iteration = ('configs/x.py: batch 2 x 3 x 800 x 1333, NVIDIA H100, medians\n\n'
                 '| training iteration (ms) | PCKA losses fwd + bwd (ms) | share |\n'
                 '| ---: | ---: | ---: |\n| {} | {} | {} |\n')
    assert verdicts.pcka_share(0.02, iteration.format('250.0', '3.10', '1.24%'), 0) == (
        verdicts.Verdict('passed', 'PCKA losses 3.10 ms of a 250.0 ms iteration: 1.24% '
                         '(goal at most 2%)'))
    assert verdicts.pcka_share(0.02, iteration.format('100.0', '3.00', '3.00%'), 0).status == (
        'goal missed')
    floor = ('| terms | implementation | median time (s) | time / floor | loop / time |\n'
             '| --- | --- | ---: | ---: | ---: |\n'
             '| intra only | floor: resize + Gram products | 0.010 | 1.00x | 9.0x |\n'
             '| intra only | PCKALoss | 0.011 | 1.10x | 8.2x |\n'
             '| intra + inter | PCKALoss | 0.020 | 1.25x | 7.0x |\n')
    assert verdicts.pcka_floor(floor, 0) == verdicts.Verdict(
        'passed', 'PCKALoss / floor: intra only 1.10x (0.011 s), intra + inter 1.25x (0.020 s)')


def test_environment_verdict():
    gpu = json.dumps(dict(python='3.12.3', torch='2.11.0+cu130', cuda=True,
                          device='NVIDIA H100 80GB HBM3', capability='9.0'))
    assert verdicts.environment(gpu, 0) == verdicts.Verdict(
        'passed', 'NVIDIA H100 80GB HBM3 (sm 9.0), torch 2.11.0+cu130, Python 3.12.3')
    cpu = json.dumps(dict(python='3.11.7', torch='2.14.1', cuda=False, device=None,
                          capability=None))
    assert verdicts.environment(cpu, 0) == verdicts.Verdict(
        'failed', 'no CUDA GPU, torch 2.14.1, Python 3.11.7')


# --- the table and the report -------------------------------------------------------

def test_markdown_table_of_passed_failed_and_not_run_steps():
    outcomes = [Outcome('env', 'the GPU', 'passed', 2.04, 60, 'NVIDIA H100'),
                Outcome('train-kda-amp', 'KDA | fp16', 'failed', 31.5, 150, 'exit 1: a|b'),
                Outcome('bench-pcka', 'floor', step_runner.NOT_RUN, None, 180, '4 s left')]
    assert results_table.markdown(outcomes, ['# GPU check', '']).splitlines() == [
        '# GPU check', '', '1 passed, 1 failed, 1 not run (deadline)', '',
        '| # | step | checks | status | seconds | budget (s) | result |',
        '| ---: | --- | --- | --- | ---: | ---: | --- |',
        '| 1 | env | the GPU | passed | 2.0 | 60 | NVIDIA H100 |',
        '| 2 | train-kda-amp | KDA \\| fp16 | failed | 31.5 | 150 | exit 1: a\\|b |',
        '| 3 | bench-pcka | floor | not run (deadline) | - | 180 | 4 s left |']
    assert json.loads(results_table.as_json(outcomes))[2] == dict(
        name='bench-pcka', what='floor', status='not run (deadline)', seconds=None,
        budget_s=180, result='4 s left')


def test_report_writer_leaves_the_table_outcomes_and_logs_in_out(tmp_path):
    logs = tmp_path / 'logs'
    logs.mkdir()
    (logs / 'env.log').write_text('hello')
    outcome = Outcome('env', 'the GPU', 'passed', 1.0, 60, 'ok')
    run_check.report_writer(tmp_path / "out", logs, ["# GPU check"])([outcome])
    assert sorted(p.name for p in (tmp_path / 'out').iterdir()) == [
        'gpu_check.md', 'logs.tar.gz', 'results.json']
    with tarfile.open(tmp_path / 'out' / 'logs.tar.gz') as tar:
        assert tar.extractfile('logs/env.log').read() == b'hello'


def test_dry_run_prints_the_plan_and_runs_nothing(tmp_path, capsys):
    args = ['--dry-run', '--work', str(tmp_path / 'work'), '--wheels', str(tmp_path / 'w')]
    assert run_check.main(args) == 0
    printed = capsys.readouterr().out
    steps = run_check.plan(run_check.parse_args(args))
    assert printed.splitlines()[0].startswith(
        f'GPU check: {len(steps)} steps, deadline 540 s')
    for step in steps:
        assert f'. {step.name} (budget {step.budget_s:.0f} s' in printed
        for command in step.commands:
            assert shlex.join(command) in printed
    assert not (tmp_path / 'work').exists()
    assert run_check.main([*args, '--only', 'train-.*-amp']) == 0
    only = capsys.readouterr().out
    assert 'train-kda-amp' in only and 'train-kda-fp32' not in only and '. env ' not in only
    scaled = run_check.plan(run_check.parse_args([*args, '--budget-scale', '2.5']))
    assert [s.budget_s for s in scaled] == [2.5 * s.budget_s for s in steps]


def test_out_is_required_to_run():
    with pytest.raises(SystemExit):
        run_check.parse_args([])


def test_steps_get_the_install_target_and_the_repository_on_pythonpath(tmp_path, monkeypatch):
    monkeypatch.setenv('PYTHONPATH', '/elsewhere')
    args = run_check.parse_args(['--out', str(tmp_path), '--work', str(tmp_path / 'w')])
    assert run_check.step_env(args)['PYTHONPATH'].split(':') == [
        str(tmp_path / 'w' / 'site'), str(REPO), '/elsewhere']
    args.skip_install = True
    assert run_check.step_env(args)['PYTHONPATH'].split(':') == [str(REPO), '/elsewhere']


# --- installing from a local folder ------------------------------------------------

def _wheel(folder: Path, name: str, version: str = '1.0', body: str = 'VALUE = 42\n',
           extra=None) -> Path:
    """A minimal wheel of module ``name`` (and ``extra`` members: name -> bytes), with
    the hashes ``wheel unpack`` verifies."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = f'{name}-{version}.dist-info'
    files = {f'{name}.py': body.encode(), **(extra or {}),
             f'{dist}/METADATA': f'Metadata-Version: 2.1\nName: {name}\n'
                                 f'Version: {version}\n'.encode(),
             f'{dist}/WHEEL': b'Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n'
                              b'Tag: py3-none-any\n'}

    def digest(data: bytes) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    files[f'{dist}/RECORD'] = (''.join(f'{path},sha256={digest(data)},{len(data)}\n'
                                       for path, data in files.items())
                               + f'{dist}/RECORD,,\n').encode()
    path = folder / f'{name}-{version}-py3-none-any.whl'
    with zipfile.ZipFile(path, 'w') as wheel:
        for member, data in files.items():
            wheel.writestr(member, data)
    return path


def test_install_from_a_local_folder_without_network(tmp_path):
    _wheel(tmp_path / 'wheels', 'relkd_probe_a')
    _wheel(tmp_path / 'wheels', 'relkd_probe_b', body='from relkd_probe_a import VALUE\n')
    command = local_wheels.install_command(tmp_path / 'wheels', tmp_path / 'site')
    assert {'--no-index', '--no-deps', '--target'} <= set(command)
    local_wheels.install(tmp_path / 'wheels', tmp_path / 'site')
    printed = subprocess.run([sys.executable, '-c', 'import relkd_probe_b; '
                              'print(relkd_probe_b.VALUE)'], check=True, text=True,
                             capture_output=True,
                             env={'PYTHONPATH': str(tmp_path / 'site')}).stdout
    assert printed == '42\n'


def test_a_folder_with_two_versions_or_no_wheels_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match='prepare.py'):
        local_wheels.wheels_to_install(tmp_path / 'absent')
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match=r'no \*\.whl'):
        local_wheels.wheels_to_install(tmp_path / 'empty')
    _wheel(tmp_path / 'two', 'relkd_probe', '1.0')
    _wheel(tmp_path / 'two', 'relkd_probe', '2.0')
    with pytest.raises(ValueError, match='relkd_probe'):
        local_wheels.wheels_to_install(tmp_path / 'two')


# --- mmcv ------------------------------------------------------------------------

class _Checks:
    """A stand-in for the fresh-interpreter mmcv check: answers in turn."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), 0

    def __call__(self):
        self.calls += 1
        return self.answers.pop(0)


def _no_build(sdist, cache):
    raise AssertionError('no build expected')


def test_mmcv_that_works_is_kept(tmp_path):
    check = _Checks('{"version": "2.1.0"}')
    result = provide_mmcv.provide(tmp_path / 'site', tmp_path / 'w', tmp_path / 'cache', None,
                                  check, _no_build)
    assert result == 'mmcv works as installed: {"version": "2.1.0"}'
    assert check.calls == 1


def test_mmcv_from_a_wheel_built_earlier_on_the_machine(tmp_path):
    _wheel(tmp_path / 'cache', 'mmcv', '2.1.0')
    result = provide_mmcv.provide(tmp_path / 'site', tmp_path / 'w', tmp_path / 'cache', None,
                                  _Checks(None, 'ok'), _no_build)
    assert result == 'mmcv from the wheel built earlier on this machine: ok'
    assert (tmp_path / 'site' / 'mmcv.py').exists()


def test_mmcv_built_from_the_sdist_is_installed_and_copied_out(tmp_path):
    (tmp_path / 'w').mkdir()
    (tmp_path / 'w' / provide_mmcv.SDIST).write_bytes(b'sdist')
    built = []

    def build(sdist, cache):
        built.append(sdist)
        return _wheel(cache, 'mmcv', '2.1.0')
    result = provide_mmcv.provide(tmp_path / 'site', tmp_path / 'w', tmp_path / 'cache',
                                  tmp_path / 'out', _Checks(None, 'ok'), build)
    assert built == [tmp_path / 'w' / provide_mmcv.SDIST]
    assert result == ('mmcv built here from the sdist: ok; mmcv-2.1.0-py3-none-any.whl '
                      f'copied to {tmp_path / "out"}: carry it next time')
    assert (tmp_path / 'out' / 'mmcv-2.1.0-py3-none-any.whl').exists()


def test_mmcv_without_an_sdist_to_build_from_fails_clearly(tmp_path):
    with pytest.raises(RuntimeError, match='no .*mmcv-2.1.0.tar.gz to build it from'):
        provide_mmcv.provide(tmp_path / 'site', tmp_path / 'w', tmp_path / 'cache', None,
                             _Checks(None), _no_build)


def test_mmcv_build_environment(monkeypatch):
    monkeypatch.setenv('CUDA_HOME', '/opt/cuda-13.0')
    monkeypatch.setenv('CPATH', '/already')
    env = provide_mmcv.build_env('9.0', 16, '/venv/bin/python',
                                 extra_include='/nvidia/include')
    assert {key: env[key] for key in ('FORCE_CUDA', 'MMCV_WITH_OPS', 'TORCH_CUDA_ARCH_LIST',
                                      'MAX_JOBS', 'CUDA_HOME', 'CPATH')} == {
        'FORCE_CUDA': '1', 'MMCV_WITH_OPS': '1', 'TORCH_CUDA_ARCH_LIST': '9.0',
        'MAX_JOBS': '16', 'CUDA_HOME': '/opt/cuda-13.0', 'CPATH': '/nvidia/include:/already'}
    assert env['PATH'].startswith('/venv/bin:')


def test_a_built_wheel_is_stripped_of_its_debug_information(tmp_path):
    source = tmp_path / 'ext.c'
    source.write_text('int answer(void) { return 42; }\n')
    library = tmp_path / 'probe' / '_ext.so'
    library.parent.mkdir()
    subprocess.run(['gcc', '-g', '-shared', '-fPIC', '-o', str(library), str(source)],
                   check=True)
    assert b'.debug_info' in library.read_bytes()
    wheel = _wheel(tmp_path / 'built', 'probe_stripped', '1.0',
                   extra={'probe_stripped_ext.so': library.read_bytes()})
    stripped = provide_mmcv.strip_wheel(wheel, tmp_path / 'out')
    assert stripped == tmp_path / 'out' / wheel.name
    with zipfile.ZipFile(stripped) as archive:
        data = archive.read('probe_stripped_ext.so')
        record = archive.read('probe_stripped-1.0.dist-info/RECORD').decode()
    assert b'.debug_info' not in data and len(data) < library.stat().st_size
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    assert f'probe_stripped_ext.so,sha256={digest},{len(data)}' in record


# --- comparing weights ------------------------------------------------------------

def test_weight_differences():
    a = {'w': torch.tensor([1.0, -4.0]), 'b': torch.tensor([0.5])}
    copy = {key: value.clone() for key, value in a.items()}
    assert compare_weights.weight_differences(a, copy) == dict(
        tensors=2, differing=0, max_abs_diff=0.0, max_rel_diff=0.0)
    changed = {'w': torch.tensor([1.0, -3.0]), 'b': torch.tensor([0.5])}
    assert compare_weights.weight_differences(a, changed) == dict(
        tensors=2, differing=1, max_abs_diff=1.0, max_rel_diff=0.25)
    with pytest.raises(KeyError, match="only in the first \\['b'\\]"):
        compare_weights.weight_differences(a, {'w': a['w']})
    with pytest.raises(ValueError, match=r'w: shape \(2,\) against \(3,\)'):
        compare_weights.weight_differences(a, {'w': torch.zeros(3), 'b': a['b']})


# --- preparation ------------------------------------------------------------------

def test_the_carried_stack_is_the_one_setup_env_installs():
    stack = (REPO / 'tools' / 'setup_env.sh').read_text()
    for pin in ('mmengine==0.10.7', 'mmdet==3.3.0', 'mmpretrain==1.2.0', 'mmrazor==1.0.0'):
        assert f'"{pin}"' in stack and pin in prepare.HOST_LACKS
    assert f'mmcv_version="{prepare.MMCV.split("==")[1]}"' in stack
    names = [pin.split('==')[0] for pin in prepare.HOST_LACKS]
    assert len(names) == len(set(names))
    assert not {'torch', 'numpy', 'mmcv', 'opencv-python'} & set(names)


def test_folder_report_fails_over_the_travel_limit(tmp_path):
    (tmp_path / 'big.whl').write_bytes(b'x' * 3000)
    (tmp_path / 'small.tar.gz').write_bytes(b'x' * 1000)
    lines = prepare.folder_report(tmp_path, tree_bytes=1000, limit=5000)
    assert [line.split()[-1] for line in lines[:2]] == ['big.whl', 'small.tar.gz']
    assert 'work tree = 0.00 MiB of 0 MiB' in lines[-1]
    with pytest.raises(ValueError, match='over the 0 MiB that travel'):
        prepare.folder_report(tmp_path, tree_bytes=1001, limit=5000)


def test_work_tree_bytes_counts_what_git_does_not_ignore(tmp_path):
    subprocess.run(['git', 'init', '-q', str(tmp_path)], check=True)
    (tmp_path / '.gitignore').write_text('ignored/\n')
    (tmp_path / 'kept.txt').write_bytes(b'x' * 100)
    (tmp_path / 'ignored').mkdir()
    (tmp_path / 'ignored' / 'big.whl').write_bytes(b'x' * 10000)
    assert prepare.work_tree_bytes(tmp_path) == 100 + len('ignored/\n')
