"""Rank distillation methods against the plain student, over seeds.

Trains the plain student and every method of a suite with the same seeds (through
``tools/train.py``, ``tools/dist_train.sh`` or ``tools/slurm_train.sh``), then writes a
leaderboard: per method the mean, std and n of the final validation metric, the paired
gain over the student with a 95% confidence interval (Student's t) and a verdict, and
the training overhead (seconds per iteration relative to the student, peak memory).

Suite format (an mmengine config; paths relative to the repository root)::

    teacher = dict(config='configs/...teacher.py',  # trained once into WORK_DIR/teacher/
                   checkpoint=None,   # or a path / URL: nothing is trained
                   seed=0,            # optional, the teacher's seed
                   cfg_options={})    # optional, merged into the teacher's config only
    student = dict(config='configs/...student.py', cfg_options={})  # row 'student'
    methods = [dict(name='RCKA', config='configs/...distill.py', cfg_options={}), ...]
    metric = 'accuracy/top1'                 # validation scalar, higher is better
    teacher_ckpt_key = 'model.teacher_ckpt'  # optional: where the checkpoint goes
    cfg_options = {}       # optional: merged into the student's and every method's config
    seeds = [0, 1, 2]      # optional default seeds
    deterministic = False  # optional: randomness.deterministic of every run

Method names use letters, digits and ``_ . + -`` and are neither ``student`` nor
``teacher``; other top-level keys raise an error unless they start with ``_`` (helper
variables). ``cfg_options`` dicts go through ``Config.merge_from_dict`` (dotted keys,
``_delete_=True``); each run's merged config is written to its work dir as
``config.py``. Command-line ``--cfg-options`` reach every training, the teacher's too.

Work dir: ``WORK_DIR/teacher/`` and ``WORK_DIR/<name>/seed<S>/``. A run counts when
its ``result.json`` exists (written once training has returned); it is then skipped. An
interrupted run resumes from its last checkpoint, or restarts when it saved none.
Outputs: ``results.json``, ``results.md``, ``leaderboard.png``, ``curves.png``.
While runs train, one status line shows each one's epoch, iteration, latest loss and
ETA, read from its ``train.log`` (in place on a terminal, else a line at most every
minute).

Examples::

    python tools/analysis/compare_methods.py configs/benchmarks/shapes_classification.py \\
        --seeds 3 --jobs 2 --work-dir work_dirs/bench_cls
    python tools/analysis/compare_methods.py \\
        configs/benchmarks/coco_retina-x101_retina-r50.py --seeds 3 --launcher pytorch \\
        --gpus 4 --dry-run
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Dict, List, NamedTuple, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parents[1]))  # tools/: shared helpers
import method_stats  # noqa: E402
from dependency_warnings import hide_dependency_warnings  # noqa: E402
from training_progress import ProgressBoard  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
STUDENT = 'student'
TEACHER = 'teacher'
SUITE_KEYS = {
    'teacher', 'student', 'methods', 'metric', 'teacher_ckpt_key', 'cfg_options', 'seeds',
    'deterministic'
}
NAME_PATTERN = re.compile(r'^[A-Za-z0-9_.+-]+$')
CONFIDENCE = 0.95
RESULT_FILE = 'result.json'
TAIL_LINES = 40


class Entry(NamedTuple):
    """A student or method of a suite: a name, a config and overrides."""
    name: str
    config: Path
    cfg_options: Dict[str, Any]


class TeacherSpec(NamedTuple):
    """The suite's teacher: a config to train once, or a checkpoint."""
    config: Optional[Path]
    checkpoint: Optional[str]
    seed: int
    cfg_options: Dict[str, Any]


class Suite(NamedTuple):
    path: Path
    teacher: TeacherSpec
    student: Entry
    methods: List[Entry]
    metric: str
    teacher_ckpt_key: str
    cfg_options: Dict[str, Any]
    seeds: List[int]
    deterministic: bool


class Run(NamedTuple):
    """One training: ``name`` is ``teacher``, ``student`` or a method."""
    name: str
    seed: int
    config: Path
    cfg_options: Dict[str, Any]
    work_dir: Path
    distills: bool


class RunResult(NamedTuple):
    """What a finished run logged (the content of its ``result.json``)."""
    final: float
    curve: Dict[int, float]
    sec_per_iter: Optional[float]
    memory_mb: Optional[float]
    teacher_metric: Optional[float]
    train_seconds: float
    checkpoint: Optional[str]


class RunFailed(RuntimeError):
    """A training exited with an error."""


# ----------------------------------------------------------------------------- suite


def repo_path(path: str, what: str) -> Path:
    """``path`` resolved against the repository root; it must exist."""
    resolved = Path(path) if Path(path).is_absolute() else REPO / path
    if not resolved.exists():
        raise FileNotFoundError(f'{what}: {path} does not exist (paths in a suite are '
                                f'relative to the repository root {REPO})')
    return resolved


def _entry(node: Any, what: str, name: str) -> Entry:
    if not isinstance(node, dict) or 'config' not in node:
        raise ValueError(f"{what} must be dict(config='configs/....py', "
                         f'cfg_options=dict(...)), got {node!r}')
    unknown = set(node) - {'config', 'cfg_options', 'name'}
    if unknown:
        raise ValueError(f'{what}: unknown keys {sorted(unknown)}; allowed: name, config, '
                         f'cfg_options')
    return Entry(name, repo_path(node['config'], what), dict(node.get('cfg_options') or {}))


def _teacher(node: Any) -> TeacherSpec:
    if not isinstance(node, dict) or not (node.get('config') or node.get('checkpoint')):
        raise ValueError("teacher must be dict(config='configs/....py') (trained once) or "
                         f"dict(checkpoint='path or URL'), got {node!r}")
    unknown = set(node) - {'config', 'checkpoint', 'seed', 'cfg_options'}
    if unknown:
        raise ValueError(f'teacher: unknown keys {sorted(unknown)}; allowed: config, '
                         f'checkpoint, seed, cfg_options')
    checkpoint = node.get('checkpoint')
    if checkpoint and node.get('config'):
        raise ValueError('teacher: give either `config` (trained once here) or '
                         f'`checkpoint` (used as it is), not both: {node!r}')
    if checkpoint and '://' not in checkpoint:
        checkpoint = str(repo_path(checkpoint, 'teacher checkpoint'))
    config = None if checkpoint else repo_path(node['config'], 'teacher config')
    return TeacherSpec(config, checkpoint, int(node.get('seed', 0)),
                       dict(node.get('cfg_options') or {}))


def load_suite(path: str) -> Suite:
    """Read and check a suite config (see the module docstring for its keys)."""
    from mmengine.config import Config
    suite_path = repo_path(path, 'suite') if not Path(path).exists() else Path(path)
    cfg = Config.fromfile(str(suite_path), import_custom_modules=False).to_dict()
    unknown = {key for key in cfg if not key.startswith('_')} - SUITE_KEYS
    if unknown:
        raise ValueError(f'{suite_path}: unknown keys {sorted(unknown)}; a suite has '
                         f'{sorted(SUITE_KEYS)} (helper variables start with _)')
    missing = {'teacher', 'student', 'methods', 'metric'} - set(cfg)
    if missing:
        raise ValueError(f'{suite_path}: missing {sorted(missing)}')
    methods = []
    for index, node in enumerate(cfg['methods']):
        name = node.get('name') if isinstance(node, dict) else None
        if not name or not NAME_PATTERN.match(name) or name in (STUDENT, TEACHER):
            raise ValueError(f'{suite_path}: methods[{index}] needs a name of letters, '
                             f"digits and '_.+-' other than 'student' / 'teacher', got "
                             f'{name!r}')
        methods.append(_entry(node, f'methods[{index}] ({name})', name))
    names = [m.name for m in methods]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f'{suite_path}: duplicate method names {duplicates}')
    if not methods:
        raise ValueError(f'{suite_path}: `methods` is empty')
    return Suite(suite_path.resolve(), _teacher(cfg['teacher']),
                 _entry(cfg['student'], 'student', STUDENT), methods, cfg['metric'],
                 cfg.get('teacher_ckpt_key', 'model.teacher_ckpt'),
                 dict(cfg.get('cfg_options') or {}), list(cfg.get('seeds', [0, 1, 2])),
                 bool(cfg.get('deterministic', False)))


# ------------------------------------------------------------------------------ plan


def _merged(*option_dicts: Dict[str, Any]) -> Dict[str, Any]:
    merged: Dict[str, Any] = {}
    for options in option_dicts:
        merged.update(options)
    return merged


def plan_runs(suite: Suite, seeds: Sequence[int], work_root: Path) -> List[Run]:
    """The teacher (when it is trained here), then the student and every method for
    each seed, seed by seed."""
    runs = []
    if suite.teacher.config is not None:
        runs.append(Run(TEACHER, suite.teacher.seed, suite.teacher.config,
                        suite.teacher.cfg_options, work_root / TEACHER, False))
    for seed in seeds:
        for entry in [suite.student, *suite.methods]:
            runs.append(Run(entry.name, seed, entry.config,
                            _merged(suite.cfg_options, entry.cfg_options),
                            work_root / entry.name / f'seed{seed}', entry.name != STUDENT))
    return runs


def last_checkpoint(work_dir: Path) -> Optional[Path]:
    """The checkpoint mmengine's ``last_checkpoint`` file points at, if it exists."""
    pointer = work_dir / 'last_checkpoint'
    if not pointer.exists():
        return None
    path = Path(pointer.read_text().strip())
    return path if path.exists() else None


def run_state(run: Run) -> str:
    """``done`` (result.json written), ``resume`` (a checkpoint, no result) or ``new``."""
    if (run.work_dir / RESULT_FILE).exists():
        return 'done'
    if last_checkpoint(run.work_dir) is not None:
        return 'resume'
    return 'new'


class Launch(NamedTuple):
    """How trainings are started (the command-line options of the tool)."""
    launcher: str
    gpus: int
    partition: Optional[str]
    deterministic: bool
    cfg_options: List[str]
    teacher_ckpt_key: str


def train_command(run: Run, launch: Launch, teacher_ckpt: Optional[str],
                  resume: bool) -> List[str]:
    """The command that trains ``run`` from its written ``config.py``."""
    config = str(run.work_dir / 'config.py')
    options = [f'randomness.seed={run.seed}',
               f'randomness.deterministic={launch.deterministic}']
    if run.distills:
        options.append(f'{launch.teacher_ckpt_key}={teacher_ckpt}')
    args = ['--resume'] if resume else []
    args += ['--cfg-options', *options, *launch.cfg_options]
    if launch.launcher == 'pytorch':
        return ['bash', str(REPO / 'tools' / 'dist_train.sh'), config, str(launch.gpus),
                '--work-dir', str(run.work_dir), *args]
    if launch.launcher == 'slurm':
        return ['bash', str(REPO / 'tools' / 'slurm_train.sh'), str(launch.partition),
                f'{run.name}-seed{run.seed}', config, str(run.work_dir), *args]
    return [sys.executable, str(REPO / 'tools' / 'train.py'), config, '--work-dir',
            str(run.work_dir), *args]


# mmengine's Config.fromfile resolves `pkg::` paths with `is_installed`, which reloads
# pkg_resources: two threads loading configs at once break each other.
_CONFIG_LOCK = threading.Lock()


def write_run_config(run: Run) -> Path:
    """Merge the run's overrides into its config and write it as ``config.py``."""
    from mmengine.config import Config
    with _CONFIG_LOCK:
        cfg = Config.fromfile(str(run.config), import_custom_modules=False)
        if run.cfg_options:
            cfg.merge_from_dict(run.cfg_options)
        run.work_dir.mkdir(parents=True, exist_ok=True)
        path = run.work_dir / 'config.py'
        cfg.dump(str(path))
    return path


# ----------------------------------------------------------------------------- logs


def scalar_records(work_dir: Path) -> List[Dict[str, Any]]:
    """Every record of the run's ``*/vis_data/scalars.json``, oldest session first
    (a resumed run adds a session)."""
    files = sorted(work_dir.glob('*/vis_data/scalars.json'))
    if not files:
        raise FileNotFoundError(f'no <timestamp>/vis_data/scalars.json under {work_dir}: '
                                f'log with LocalVisBackend (mmengine default_runtime)')
    return [json.loads(line) for path in files for line in path.read_text().splitlines()
            if line.strip()]


def read_run(work_dir: Path, metric: str, train_seconds: float) -> RunResult:
    """The final validation ``metric`` and its curve (last logged value per step),
    the median training seconds per iteration and the peak memory of a run."""
    records = scalar_records(work_dir)
    train = [r for r in records if 'iter' in r]
    val = [r for r in records if 'iter' not in r]
    curve = {int(r['step']): float(r[metric]) for r in val if metric in r}
    if not curve:
        keys = sorted({k for r in val for k in r if k not in ('step', 'time', 'data_time')})
        raise KeyError(f'{work_dir}: no validation logged `{metric}`; its validation '
                       f'scalars are {keys}')
    teacher_key = f'teacher.{metric}'
    teacher_values = [float(r[teacher_key]) for r in val if teacher_key in r]
    times = [float(r['time']) for r in train if 'time' in r]
    memory = [float(r['memory']) for r in train if 'memory' in r]
    checkpoint = last_checkpoint(work_dir)
    return RunResult(
        final=curve[max(curve)], curve=curve,
        sec_per_iter=statistics.median(times) if times else None,
        memory_mb=max(memory) if memory else None,
        teacher_metric=teacher_values[-1] if teacher_values else None,
        train_seconds=train_seconds,
        checkpoint=str(checkpoint) if checkpoint else None)


def save_result(work_dir: Path, result: RunResult) -> None:
    """Write ``result.json`` atomically: it marks the run as finished."""
    tmp = work_dir / (RESULT_FILE + '.tmp')
    tmp.write_text(json.dumps(result._asdict(), indent=1))
    tmp.replace(work_dir / RESULT_FILE)


def load_result(work_dir: Path) -> RunResult:
    data = json.loads((work_dir / RESULT_FILE).read_text())
    data['curve'] = {int(step): value for step, value in data['curve'].items()}
    return RunResult(**data)


# ------------------------------------------------------------------------ execution


def format_seconds(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f'{hours}h{minutes:02d}m{secs:02d}s' if hours else f'{minutes}m{secs:02d}s'


def run_label(run: Run) -> str:
    return f'{run.name} seed {run.seed}'


def _slot_env(slot: int, jobs: int, launch: Launch, on_cpu: bool) -> Dict[str, str]:
    """Environment of the training in ``slot``: its threads on a CPU, its GPUs and
    rendezvous port otherwise."""
    env = dict(os.environ, PYTHON=sys.executable, GPUS=str(launch.gpus),
               PORT=str(29500 + slot))
    if launch.launcher == 'slurm':
        env.setdefault('GPUS_PER_NODE', str(min(launch.gpus, 8)))
    if on_cpu:
        env.setdefault('OMP_NUM_THREADS', str(max(1, len(os.sched_getaffinity(0)) // jobs)))
    elif jobs > 1 and launch.launcher != 'slurm':
        visible = os.environ.get('CUDA_VISIBLE_DEVICES')
        devices = (visible.split(',') if visible else
                   [str(i) for i in range(jobs * launch.gpus)])
        env['CUDA_VISIBLE_DEVICES'] = ','.join(
            devices[slot * launch.gpus:(slot + 1) * launch.gpus])
    return env


def train_run(run: Run, launch: Launch, teacher_ckpt: Optional[str], metric: str,
              env: Dict[str, str], board: ProgressBoard) -> RunResult:
    """Train one run to completion (resuming or restarting it) and save its result;
    ``board`` follows its log while it trains."""
    resume = run_state(run) == 'resume'
    if not resume and run.work_dir.exists():
        shutil.rmtree(run.work_dir)
    write_run_config(run)
    log = run.work_dir / 'train.log'
    start = time.monotonic()
    with log.open('a') as out:
        board.follow(run_label(run), log)
        try:
            code = subprocess.run(train_command(run, launch, teacher_ckpt, resume),
                                  cwd=REPO, env=env, stdout=out,
                                  stderr=subprocess.STDOUT).returncode
        finally:
            board.forget(run_label(run))
    if code != 0:
        tail = ''.join(log.read_text().splitlines(keepends=True)[-TAIL_LINES:])
        raise RunFailed(f'{run_label(run)} failed (exit code {code}); the end of {log}:\n'
                        f'{tail}')
    result = read_run(run.work_dir, metric, time.monotonic() - start)
    save_result(run.work_dir, result)
    return result


class Progress:
    """Prints ``run i of n`` lines with the elapsed time and an ETA through ``board``
    (which shows the running trainings' own progress)."""

    def __init__(self, runs: Sequence[Run], board: ProgressBoard) -> None:
        self.board = board
        self.index = {id(run): i + 1 for i, run in enumerate(runs)}
        self.total = len(runs)
        self.to_train = sum(run_state(run) != 'done' for run in runs)
        self.trained = 0
        self.start = time.monotonic()
        self.lock = threading.Lock()

    def line(self, run: Run, text: str) -> None:
        with self.lock:
            self.board.message(f'[compare] run {self.index[id(run)]}/{self.total} '
                               f'{run_label(run)}: {text}')

    def finished(self, run: Run, result: RunResult, metric: str) -> None:
        with self.lock:
            self.trained += 1
            elapsed = time.monotonic() - self.start
            eta = elapsed / self.trained * (self.to_train - self.trained)
        self.line(run, f'done in {format_seconds(result.train_seconds)}, {metric} = '
                  f'{result.final:.4g} | {self.trained}/{self.to_train} trained, elapsed '
                  f'{format_seconds(elapsed)}, ETA {format_seconds(eta)}')


def execute(runs: Sequence[Run], launch: Launch, jobs: int, metric: str,
            teacher_ckpt: Optional[str]) -> None:
    """Train every unfinished run, the teacher first, ``jobs`` at a time. After a
    failure no new run starts; the running ones finish, then the failure is raised."""
    import torch
    on_cpu = launch.launcher != 'slurm' and not torch.cuda.is_available()
    with ProgressBoard('[compare]') as board:
        progress = Progress(runs, board)
        pending = []
        for run in runs:
            if run_state(run) == 'done':
                progress.line(run, f'finished earlier ({run.work_dir / RESULT_FILE}), '
                              'skipped')
            else:
                pending.append(run)
        if pending and pending[0].name == TEACHER:
            teacher = pending.pop(0)
            progress.line(teacher, f'training ({run_state(teacher)}), log '
                          f'{teacher.work_dir}/train.log')
            progress.finished(teacher, train_run(teacher, launch, None, metric,
                                                 _slot_env(0, 1, launch, on_cpu), board),
                              metric)
        if any(run.distills for run in pending) and teacher_ckpt is None:
            teacher_ckpt = teacher_checkpoint(runs)
        free_slots = list(range(jobs))
        failures: List[str] = []
        with ThreadPoolExecutor(jobs) as pool:
            running: Dict[Future, tuple] = {}
            while pending or running:
                while pending and free_slots and not failures:
                    run, slot = pending.pop(0), free_slots.pop(0)
                    progress.line(run, f'training ({run_state(run)}), log {run.work_dir}/'
                                  'train.log')
                    future = pool.submit(train_run, run, launch, teacher_ckpt, metric,
                                         _slot_env(slot, jobs, launch, on_cpu), board)
                    running[future] = (run, slot)
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    run, slot = running.pop(future)
                    free_slots.append(slot)
                    try:
                        progress.finished(run, future.result(), metric)
                    except RunFailed as error:
                        failures.append(str(error))
    if failures:
        raise RunFailed('\n\n'.join(failures))


def teacher_checkpoint(runs: Sequence[Run]) -> str:
    """The checkpoint of the teacher trained in this work dir."""
    teacher = next(run for run in runs if run.name == TEACHER)
    checkpoint = load_result(teacher.work_dir).checkpoint
    if checkpoint is None or not Path(checkpoint).exists():
        raise FileNotFoundError(
            f'the teacher in {teacher.work_dir} finished but its checkpoint {checkpoint} '
            f'is missing; delete {teacher.work_dir / RESULT_FILE} to retrain it')
    return checkpoint


def print_plan(runs: Sequence[Run], launch: Launch, teacher_ckpt: Optional[str]) -> None:
    """One line per run: its state and the command that trains it."""
    shown_ckpt = teacher_ckpt or next(
        (str(load_result(run.work_dir).checkpoint) for run in runs
         if run.name == TEACHER and run_state(run) == 'done'),
        f'<checkpoint of {runs[0].work_dir}>')
    for index, run in enumerate(runs, 1):
        state = run_state(run)
        command = ' '.join(train_command(run, launch, shown_ckpt, state == 'resume'))
        print(f'[plan] run {index}/{len(runs)} {run_label(run)} [{state}]: {command}')


# ---------------------------------------------------------------------- aggregation


def leaderboard(suite: Suite, runs: Sequence[Run]) -> Dict[str, Any]:
    """Aggregate the finished runs: one row per method (student included), sorted by
    mean, best first."""
    results: Dict[str, Dict[int, RunResult]] = {}
    for run in runs:
        if run.name != TEACHER:
            results.setdefault(run.name, {})[run.seed] = load_result(run.work_dir)
    student = {seed: r.final for seed, r in results[STUDENT].items()}
    student_time = _mean_or_none(r.sec_per_iter for r in results[STUDENT].values())
    rows = []
    for name, by_seed in results.items():
        finals = {seed: r.final for seed, r in by_seed.items()}
        summary = method_stats.summarize(list(finals.values()))
        sec_per_iter = _mean_or_none(r.sec_per_iter for r in by_seed.values())
        memory = [r.memory_mb for r in by_seed.values() if r.memory_mb is not None]
        gain = None
        if name != STUDENT:
            gain = method_stats.paired_gain(finals, student, CONFIDENCE)._asdict()
        rows.append(dict(
            name=name, mean=summary.mean, std=summary.std, n=summary.n,
            values={str(seed): value for seed, value in sorted(finals.items())},
            gain=gain, sec_per_iter=sec_per_iter,
            time_ratio=(sec_per_iter / student_time
                        if sec_per_iter is not None and student_time else None),
            memory_mb=max(memory) if memory else None,
            train_seconds=sum(r.train_seconds for r in by_seed.values()),
            curve=_mean_curve(by_seed.values())))
    rows.sort(key=lambda row: row['mean'], reverse=True)
    return dict(suite=str(suite.path), metric=suite.metric, confidence=CONFIDENCE,
                seeds=sorted({run.seed for run in runs if run.name != TEACHER}),
                teacher=_teacher_row(suite, runs, results), methods=rows)


def _mean_or_none(values) -> Optional[float]:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def _mean_curve(results) -> Dict[str, List[float]]:
    """step -> [mean, std (0 for one seed), n] over the seeds that logged the step."""
    steps = sorted({step for r in results for step in r.curve})
    curve = {}
    for step in steps:
        summary = method_stats.summarize(
            [r.curve[step] for r in results if step in r.curve])
        curve[str(step)] = [summary.mean, summary.std or 0.0, summary.n]
    return curve


def _teacher_row(suite: Suite, runs: Sequence[Run],
                 results: Dict[str, Dict[int, RunResult]]) -> Dict[str, Any]:
    """The teacher's metric: from its own run, else as the distillation runs'
    validation loop logged it (``teacher.<metric>``)."""
    teacher_run = next((run for run in runs if run.name == TEACHER), None)
    if teacher_run is not None:
        result = load_result(teacher_run.work_dir)
        return dict(metric=result.final, checkpoint=result.checkpoint,
                    source=f'trained here, seed {teacher_run.seed}')
    logged = [r.teacher_metric for name, by_seed in results.items() if name != STUDENT
              for r in by_seed.values() if r.teacher_metric is not None]
    return dict(metric=logged[-1] if logged else None, checkpoint=suite.teacher.checkpoint,
                source='checkpoint')


def _number(value: Optional[float], digits: int, sign: bool = False) -> str:
    if value is None:
        return 'n/a'
    return f'{value:+.{digits}f}' if sign else f'{value:.{digits}f}'


def markdown(board: Dict[str, Any], command: str) -> str:
    """The leaderboard as a markdown table with its context."""
    rows = board['methods']
    digits = 2 if max(abs(row['mean']) for row in rows) > 1.5 else 3
    teacher = board['teacher']
    pct = int(board['confidence'] * 100)
    lines = [
        f"# {Path(board['suite']).name}: {board['metric']}, seeds "
        f"{', '.join(map(str, board['seeds']))}", '',
        f"Teacher: {_number(teacher['metric'], digits)} ({teacher['source']}). "
        f'Gain: the mean over seeds of (method - student) on the same seed, with its '
        f'{pct}% confidence interval (t distribution); `better` / `worse` when the '
        f'interval excludes 0. Time: median training seconds per iteration.', '',
        f'| rank | method | mean ± std | n | gain over student [{pct}% CI] | verdict | '
        f's/iter (x student) | peak memory (MB) |',
        '|---|---|---|---|---|---|---|---|'
    ]
    for rank, row in enumerate(rows, 1):
        gain = row['gain']
        if gain is None:
            gain_text, verdict = '-', '-'
        else:
            interval = (f" [{_number(gain['low'], digits, True)}, "
                        f"{_number(gain['high'], digits, True)}]"
                        if gain['low'] is not None else '')
            gain_text = _number(gain['mean'], digits, True) + interval
            verdict = gain['verdict']
        time_text = (f"{row['sec_per_iter']:.3f} ({row['time_ratio']:.2f}x)"
                     if row['time_ratio'] is not None else _number(row['sec_per_iter'], 3))
        name = f"**{row['name']}**" if row['name'] == STUDENT else row['name']
        lines.append(f"| {rank} | {name} | {_number(row['mean'], digits)} ± "
                     f"{_number(row['std'], digits)} | {row['n']} | {gain_text} | "
                     f"{verdict} | {time_text} | {_number(row['memory_mb'], 0)} |")
    lines += ['', f'Command: `{command}`', '']
    return '\n'.join(lines)


def plot(board: Dict[str, Any], out_dir: Path) -> List[Path]:
    """``leaderboard.png`` (mean with std error bars) and ``curves.png`` (validation
    metric against step, mean over seeds with a +-std band)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = board['methods']
    metric = board['metric']
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(rows) + 1.5))
    names = [row['name'] for row in rows][::-1]
    ax.barh(names, [row['mean'] for row in rows][::-1],
            xerr=[row['std'] or 0.0 for row in rows][::-1], capsize=3,
            color=['tab:gray' if n == STUDENT else 'tab:blue' for n in names])
    if board['teacher']['metric'] is not None:
        ax.axvline(board['teacher']['metric'], color='tab:red', linestyle='--',
                   label='teacher')
        ax.legend(loc='lower right')
    low = min(row['mean'] - (row['std'] or 0.0) for row in rows)
    high = max([row['mean'] + (row['std'] or 0.0) for row in rows] +
               [board['teacher']['metric'] or -float('inf')])
    margin = 0.1 * (high - low) or 1.0
    ax.set_xlim(low - margin, high + margin)
    ax.set_xlabel(f'{metric} (mean ± std over seeds {board["seeds"]})')
    fig.tight_layout()
    bars = out_dir / 'leaderboard.png'
    fig.savefig(bars, dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for row in rows:
        steps = [int(step) for step in row['curve']]
        mean = [row['curve'][str(s)][0] for s in steps]
        std = [row['curve'][str(s)][1] for s in steps]
        line, = ax.plot(steps, mean, marker='.', label=row['name'],
                        linewidth=2.5 if row['name'] == STUDENT else 1.2)
        ax.fill_between(steps, [m - s for m, s in zip(mean, std)],
                        [m + s for m, s in zip(mean, std)], color=line.get_color(),
                        alpha=0.15)
    ax.set_xlabel('validation step (epoch for epoch-based runs)')
    ax.set_ylabel(metric)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    curves = out_dir / 'curves.png'
    fig.savefig(curves, dpi=120)
    plt.close(fig)
    return [bars, curves]


# ---------------------------------------------------------------------------- main


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('suite', help='suite config, e.g. configs/benchmarks/...py')
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument('--seeds', type=int, help='seeds 0 .. N-1')
    seeds.add_argument('--seed-list', type=int, nargs='+', help='explicit seeds')
    parser.add_argument('--work-dir', help='default: work_dirs/benchmarks/<suite name>')
    parser.add_argument('--jobs', type=int, default=1,
                        help='trainings side by side (on a CPU each gets '
                        'OMP_NUM_THREADS = cores / jobs unless set)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--gpus', type=int, default=1,
                        help='GPUs per training (pytorch: torchrun processes; slurm: GPUS)')
    parser.add_argument('--partition', help='slurm partition (--launcher slurm)')
    parser.add_argument('--deterministic', action='store_true',
                        help='randomness.deterministic=True (default: the suite\'s value)')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the plan, one line per run, and train nothing')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='passed to every training (tools/train.py --cfg-options)')
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.gpus < 1:
        parser.error('--jobs and --gpus must be at least 1')
    if args.launcher == 'slurm' and not args.partition:
        parser.error('--launcher slurm needs --partition')
    if args.seeds is not None and args.seeds < 1:
        parser.error('--seeds must be at least 1')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    hide_dependency_warnings()
    suite = load_suite(args.suite)
    seeds = (list(range(args.seeds)) if args.seeds is not None else args.seed_list
             or suite.seeds)
    work_root = Path(args.work_dir or REPO / 'work_dirs' / 'benchmarks' /
                     suite.path.stem).resolve()
    runs = plan_runs(suite, seeds, work_root)
    launch = Launch(args.launcher, args.gpus, args.partition,
                    args.deterministic or suite.deterministic, args.cfg_options,
                    suite.teacher_ckpt_key)
    if args.dry_run:
        print_plan(runs, launch, suite.teacher.checkpoint)
        return 0
    execute(runs, launch, args.jobs, suite.metric, suite.teacher.checkpoint)
    board = leaderboard(suite, runs)
    command = ' '.join(['python', 'tools/analysis/compare_methods.py', *(
        argv if argv is not None else sys.argv[1:])])
    board['command'] = command
    (work_root / 'results.json').write_text(json.dumps(board, indent=1))
    table = markdown(board, command)
    (work_root / 'results.md').write_text(table)
    pngs = plot(board, work_root)
    print('\n' + table)
    print(f"[compare] wrote {work_root / 'results.json'}, results.md, "
          f"{', '.join(p.name for p in pngs)}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
