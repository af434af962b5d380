"""Rank distillation methods against the plain student, over seeds.

Trains the plain student and every method of a suite with the same seeds (through
``tools/train.py``, ``tools/dist_train.sh`` or ``tools/slurm_train.sh``), then writes a
leaderboard: per method the mean, std and n of the final validation metric; the paired
gain over the student with a 95% confidence interval (Student's t) and the p-value of
the paired t-test, the standard deviation of the per-seed differences floored at the
metric's resolution (``metric_resolution``: one step of the metric); a verdict per
method (``better`` / ``worse`` when the interval excludes 0, from 3 paired seeds on)
and the verdict corrected for the number of methods (Holm's step-down procedure at
alpha = 0.05); and the training overhead (seconds per iteration relative to the
student; peak memory: CUDA's when mmengine logged it, else the peak resident set size
of the training process, measured with ``os.wait4``).

Suite format (an mmengine config; paths relative to the repository root)::

    teacher = dict(config='configs/...teacher.py',  # trained once into WORK_DIR/teacher/
                   checkpoint=None,   # or a path / URL: nothing is trained
                   seed=0,            # optional, the teacher's seed
                   cfg_options={})    # optional, merged into the teacher's config only
    student = dict(config='configs/...student.py', cfg_options={})  # row 'student'
    methods = [dict(name='RCKA', config='configs/...distill.py', cfg_options={}), ...]
    metric = 'accuracy/top1'                 # validation scalar, higher is better
    metric_resolution = 100 / 10000          # optional (default 0): the metric's step,
                                             # 100 / N val images for top-1 in %
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
interrupted run resumes from its last checkpoint, or restarts when it saved none or was
interrupted between its final checkpoint and its final validation.
Outputs: ``results.json``, ``results.md``, ``leaderboard.png`` (mean ± std beside
the paired gain with its interval), ``curves.png``.
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
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import (IO, TYPE_CHECKING, Any, Dict, Iterable, List, NamedTuple, Optional,
                    Sequence, Set, Tuple)

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parents[1]))  # tools/: shared helpers
import method_stats  # noqa: E402
from dependency_warnings import hide_dependency_warnings  # noqa: E402
from training_progress import ProgressBoard  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

REPO = Path(__file__).resolve().parents[2]
STUDENT = 'student'
TEACHER = 'teacher'
SUITE_KEYS = {
    'teacher', 'student', 'methods', 'metric', 'metric_resolution', 'teacher_ckpt_key',
    'cfg_options', 'seeds', 'deterministic'
}
NAME_PATTERN = re.compile(r'^[A-Za-z0-9_.+-]+$')
CONFIDENCE = 0.95
RESULT_FILE = 'result.json'
TAIL_LINES = 40
# what subprocess.run gives a child after Ctrl-C (which reaches the whole process
# group) before it kills it: Popen._sigint_wait_secs
SIGINT_GRACE_S = 0.25
# ru_maxrss is in KiB on Linux, in bytes on macOS
MAXRSS_BYTES = 1 if sys.platform == 'darwin' else 1024


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
    metric_resolution: float
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
    """What a finished run logged (the content of its ``result.json``): ``memory_mb``
    is CUDA's peak as mmengine logs it (MiB, GPUs only), ``peak_rss_mb`` the peak
    resident set size of the training's largest process (MiB; ``None`` where
    :func:`run_measured` cannot tell it, and in a ``result.json`` written before it was
    measured)."""
    final: float
    curve: Dict[int, float]
    sec_per_iter: Optional[float]
    memory_mb: Optional[float]
    teacher_metric: Optional[float]
    train_seconds: float
    checkpoint: Optional[str]
    peak_rss_mb: Optional[float] = None


class ChildExit(NamedTuple):
    """How a training process ended: its exit code (``-N`` for signal ``N``, as
    ``subprocess.run`` gives it) and its peak resident set size in MiB (``None`` when
    it stayed below this process's own peak, which the measurement cannot tell
    apart: see :func:`run_measured`)."""
    returncode: int
    peak_rss_mb: Optional[float]


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


def _metric_resolution(value: Any, suite_path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            math.isfinite(value) and value >= 0):
        raise ValueError(
            f'{suite_path}: metric_resolution must be a finite number >= 0, the smallest '
            f'step the metric can move (e.g. 100 / 4080 for top-1 in % on 4080 validation '
            f"images, 0.001 for mmdet's COCO mAP; 0 sets no floor), got {value!r}")
    return float(value)


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
                 _metric_resolution(cfg.get('metric_resolution', 0.0), suite_path),
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


def read_run(work_dir: Path, metric: str, train_seconds: float,
             peak_rss_mb: Optional[float] = None) -> RunResult:
    """The final validation ``metric`` and its curve (last logged value per step),
    the median training seconds per iteration and the peak CUDA memory of a run, with
    the measured ``train_seconds`` and ``peak_rss_mb`` of its last session."""
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
        checkpoint=str(checkpoint) if checkpoint else None,
        peak_rss_mb=peak_rss_mb)


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


def _memory_peak() -> int:
    """The peak resident set size of this process, in ``ru_maxrss`` units: ``VmHWM``
    from ``/proc/self/status`` on Linux (not ``ru_maxrss``, which also keeps the peak
    of the process this one was started from); elsewhere ``ru_maxrss``, an upper
    bound."""
    status = Path('/proc/self/status')
    if status.exists():
        return int(re.search(r'^VmHWM:\s+(\d+) kB', status.read_text(), re.M).group(1))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_measured(cmd: List[str], env: Dict[str, str], out: IO[str]) -> ChildExit:
    """Run ``cmd`` in the repository root to its end, its output and errors into
    ``out``, as ``subprocess.run`` would, and measure its peak resident set size.

    The child is reaped with ``os.wait4``, whose ``ru_maxrss`` covers the child and
    every descendant it waited for: the largest of those processes (a launcher's
    workers included), not their sum. The child starts as a copy of this process
    (fork or vfork), and Linux counts the memory that copy had until its ``exec`` in
    its ``ru_maxrss``: up to this process's own peak (:func:`_memory_peak`), which is
    therefore read after the start; a ``ru_maxrss`` not above it gives ``None`` (a
    training below the tool's own peak, about 0.7 GiB with torch imported; a real
    training is above).
    On an exception (Ctrl-C), like ``subprocess.run``: the child gets
    ``SIGINT_GRACE_S`` to exit, is then killed, and the exception goes on.
    """
    with subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out,
                          stderr=subprocess.STDOUT) as process:
        floor = _memory_peak()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException as error:
            if isinstance(error, KeyboardInterrupt):
                try:
                    process.wait(SIGINT_GRACE_S)
                except subprocess.TimeoutExpired:
                    pass
            process.kill()
            raise
        process.returncode = os.waitstatus_to_exitcode(status)
    peak = usage.ru_maxrss * MAXRSS_BYTES / 2**20 if usage.ru_maxrss > floor else None
    return ChildExit(process.returncode, peak)


def _train_session(run: Run, launch: Launch, teacher_ckpt: Optional[str],
                   env: Dict[str, str], board: ProgressBoard,
                   resume: bool) -> Tuple[ChildExit, float]:
    """One training session of ``run`` (a fresh work dir unless ``resume``): its exit
    and its wall-clock seconds."""
    if not resume and run.work_dir.exists():
        shutil.rmtree(run.work_dir)
    write_run_config(run)
    log = run.work_dir / 'train.log'
    start = time.monotonic()
    with log.open('a') as out:
        board.follow(run_label(run), log)
        try:
            child = run_measured(train_command(run, launch, teacher_ckpt, resume), env,
                                 out)
        finally:
            board.forget(run_label(run))
    if child.returncode != 0:
        tail = ''.join(log.read_text().splitlines(keepends=True)[-TAIL_LINES:])
        raise RunFailed(f'{run_label(run)} failed (exit code {child.returncode}); the end '
                        f'of {log}:\n{tail}')
    return child, time.monotonic() - start


def session_dirs(work_dir: Path) -> Set[Path]:
    """The ``<timestamp>/vis_data`` folder of every session of a run (mmengine writes
    it whether or not the session logs a scalar)."""
    return set(work_dir.glob('*/vis_data'))


def logged_metric(sessions: Iterable[Path], metric: str) -> bool:
    """Whether any of the ``sessions`` (``vis_data`` folders) logged ``metric``."""
    files = [folder / 'scalars.json' for folder in sessions]
    return any(metric in json.loads(line) for path in files if path.exists()
               for line in path.read_text().splitlines() if line.strip())


def train_run(run: Run, launch: Launch, teacher_ckpt: Optional[str], metric: str,
              env: Dict[str, str], board: ProgressBoard) -> RunResult:
    """Train one run to completion (resuming or restarting it) and save its result;
    ``board`` follows its log while it trains. A run interrupted after its final
    checkpoint but before its final validation trains again from scratch."""
    resume = run_state(run) == 'resume'
    earlier = session_dirs(run.work_dir)
    child, seconds = _train_session(run, launch, teacher_ckpt, env, board, resume)
    # a session resumed from the final checkpoint trains and validates nothing (the
    # loop has ended): the validation after that checkpoint was cut off before
    if resume and not logged_metric(session_dirs(run.work_dir) - earlier, metric):
        board.message(f'[compare] {run_label(run)}: resumed from its final checkpoint, '
                      f'whose validation had been cut off (no {metric} logged): trains '
                      'again from scratch')
        child, seconds = _train_session(run, launch, teacher_ckpt, env, board, False)
    try:
        result = read_run(run.work_dir, metric, seconds, child.peak_rss_mb)
    except KeyError as error:
        raise RunFailed(f'{run_label(run)}: {error.args[0]}') from error
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
    mean, best first. A method's ``gain`` is its :func:`method_stats.paired_gain` with
    ``verdict_holm``, its verdict corrected over the suite's methods."""
    results: Dict[str, Dict[int, RunResult]] = {}
    for run in runs:
        if run.name != TEACHER:
            results.setdefault(run.name, {})[run.seed] = load_result(run.work_dir)
    student = {seed: r.final for seed, r in results[STUDENT].items()}
    student_time = _mean_or_none(r.sec_per_iter for r in results[STUDENT].values())
    gains = {
        name: method_stats.paired_gain({seed: r.final for seed, r in by_seed.items()},
                                       student, CONFIDENCE, suite.metric_resolution)
        for name, by_seed in results.items() if name != STUDENT
    }
    holm = method_stats.holm_verdicts(gains, 1 - CONFIDENCE)
    rows = []
    for name, by_seed in results.items():
        finals = {seed: r.final for seed, r in by_seed.items()}
        summary = method_stats.summarize(list(finals.values()))
        sec_per_iter = _mean_or_none(r.sec_per_iter for r in by_seed.values())
        gain = None
        if name != STUDENT:
            gain = dict(gains[name]._asdict(), verdict_holm=holm[name])
        rows.append(dict(
            name=name, mean=summary.mean, std=summary.std, n=summary.n,
            values={str(seed): value for seed, value in sorted(finals.items())},
            gain=gain, sec_per_iter=sec_per_iter,
            time_ratio=(sec_per_iter / student_time
                        if sec_per_iter is not None and student_time else None),
            memory_mb=_max_or_none(r.memory_mb for r in by_seed.values()),
            peak_rss_mb=_max_or_none(r.peak_rss_mb for r in by_seed.values()),
            train_seconds=sum(r.train_seconds for r in by_seed.values()),
            curve=_mean_curve(by_seed.values())))
    rows.sort(key=lambda row: row['mean'], reverse=True)
    return dict(suite=str(suite.path), metric=suite.metric, confidence=CONFIDENCE,
                metric_resolution=suite.metric_resolution,
                seeds=sorted({run.seed for run in runs if run.name != TEACHER}),
                teacher=_teacher_row(suite, runs, results), methods=rows)


def _mean_or_none(values: Iterable[Optional[float]]) -> Optional[float]:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


def _max_or_none(values: Iterable[Optional[float]]) -> Optional[float]:
    values = [v for v in values if v is not None]
    return max(values) if values else None


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


def _p_value(p: Optional[float]) -> str:
    if p is None:
        return 'n/a'
    return '<0.001' if p < 0.001 else f'{p:.3f}'


def _memory(row: Dict[str, Any]) -> str:
    """CUDA's peak when it was logged, else the peak resident set size, marked."""
    if row['memory_mb'] is not None:
        return f"{row['memory_mb']:.0f} (CUDA)"
    if row['peak_rss_mb'] is not None:
        return f"{row['peak_rss_mb']:.0f} (RSS)"
    return 'n/a'


def _floor_text(resolution: float) -> str:
    if resolution == 0:
        return ('The suite sets no `metric_resolution`: the std of the per-seed '
                'differences is not floored (differences equal on every seed give a '
                'zero-width interval).')
    return (f'The std of the per-seed differences is floored at the metric\'s resolution '
            f'q = {resolution:.4g}, its smallest step: each difference of two values '
            f'measured in steps of q is uncertain by at least one step.')


def markdown(board: Dict[str, Any], command: str) -> str:
    """The leaderboard as a markdown table with its context."""
    rows = board['methods']
    digits = 2 if max(abs(row['mean']) for row in rows) > 1.5 else 3
    teacher = board['teacher']
    pct = int(board['confidence'] * 100)
    family = sum(row['gain'] is not None and row['gain']['n'] >= method_stats.MIN_SEEDS
                 for row in rows)
    lines = [
        f"# {Path(board['suite']).name}: {board['metric']}, seeds "
        f"{', '.join(map(str, board['seeds']))}", '',
        f"Teacher: {_number(teacher['metric'], digits)} ({teacher['source']}). "
        f'Gain: the mean over seeds of (method - student) on the same seed, with its '
        f"{pct}% confidence interval (Student's t over the per-seed differences); p: the "
        f'two-sided p-value of the paired t-test. {_floor_text(board["metric_resolution"])}'
        f' verdict: `better` / `worse` when the interval excludes 0, each method tested '
        f'on its own; verdict (Holm): the same tests corrected for comparing {family} '
        f"methods with one student (Holm's step-down procedure, probability of any wrong "
        f'`better` / `worse` at most {100 - pct}%), the verdict for a claim about the '
        f'leaderboard as a whole. Fewer than {method_stats.MIN_SEEDS} paired seeds give '
        f'no verdict. Time: median training seconds per iteration. Peak memory: CUDA\'s '
        f'peak as mmengine logs it where a GPU trained, else (RSS) the peak resident set '
        f"size of the training's largest process; the maximum over seeds.", '',
        f'| rank | method | mean ± std | n | gain over student [{pct}% CI] | p | verdict | '
        f'verdict (Holm) | s/iter (x student) | peak memory (MiB) |',
        '|---|---|---|---|---|---|---|---|---|---|'
    ]
    for rank, row in enumerate(rows, 1):
        gain = row['gain']
        if gain is None:
            gain_text, p_text, verdict, holm = '-', '-', '-', '-'
        else:
            interval = (f" [{_number(gain['low'], digits, True)}, "
                        f"{_number(gain['high'], digits, True)}]"
                        if gain['low'] is not None else '')
            gain_text = _number(gain['mean'], digits, True) + interval
            p_text = _p_value(gain['p'])
            verdict, holm = gain['verdict'], gain['verdict_holm']
        time_text = (f"{row['sec_per_iter']:.3f} ({row['time_ratio']:.2f}x)"
                     if row['time_ratio'] is not None else _number(row['sec_per_iter'], 3))
        name = f"**{row['name']}**" if row['name'] == STUDENT else row['name']
        lines.append(f"| {rank} | {name} | {_number(row['mean'], digits)} ± "
                     f"{_number(row['std'], digits)} | {row['n']} | {gain_text} | "
                     f"{p_text} | {verdict} | {holm} | {time_text} | {_memory(row)} |")
    lines += ['', f'Command: `{command}`', '']
    return '\n'.join(lines)


# a row whose value lies more than this many median absolute deviations from the median
# of the rows' values is drawn off scale (noted at the panel's edge), so that one
# collapsed method does not squeeze every other row of leaderboard.png into a line
OFF_SCALE_MADS = 10.0


def off_scale(values: Sequence[float]) -> List[bool]:
    """Which of ``values`` lie off the plot's scale: more than :data:`OFF_SCALE_MADS`
    median absolute deviations from their median (never with fewer than 4 values or a
    zero deviation)."""
    if len(values) < 4:
        return [False] * len(values)
    median = statistics.median(values)
    deviation = statistics.median(abs(value - median) for value in values)
    if deviation == 0:
        return [False] * len(values)
    return [abs(value - median) > OFF_SCALE_MADS * deviation for value in values]


def _scale_to(ax: 'Axes', ends: Sequence[float]) -> None:
    """Set the x-axis of ``ax`` to ``ends`` with a margin of a tenth of their range."""
    margin = 0.1 * (max(ends) - min(ends)) or 1.0
    ax.set_xlim(min(ends) - margin, max(ends) + margin)


def _note_off_scale(ax: 'Axes', position: float, value: float, text: str) -> None:
    """Write ``text`` at the edge of ``ax`` on the side where ``value`` lies, if it lies
    outside the axis (another row's whiskers may have kept it in view), just above the
    row, clear of a whisker that reaches into view."""
    low, high = ax.get_xlim()
    if low <= value <= high:
        return
    left = value < low
    ax.annotate(f'{"<- " if left else ""}{text}{"" if left else " ->"} (off scale)',
                xy=(low if left else high, position), xytext=(0, 3),
                textcoords='offset points', ha='left' if left else 'right', va='bottom',
                fontsize=7)


# marker of a method's paired gain in leaderboard.png, by its Holm verdict
GAIN_STYLE = {
    method_stats.BETTER: dict(marker='o', color='tab:green', markerfacecolor='tab:green'),
    method_stats.WORSE: dict(marker='s', color='tab:red', markerfacecolor='tab:red'),
    method_stats.WITHIN_NOISE: dict(marker='o', color='tab:blue', markerfacecolor='white'),
    method_stats.TOO_FEW_SEEDS: dict(marker='x', color='tab:gray'),
}


def leaderboard_figure(board: Dict[str, Any]) -> 'Figure':
    """Two panels sharing the rows, best mean on top. Left: mean with std error bars
    and the teacher as a dashed line. Right: each method's paired gain over the student
    with its confidence interval as whiskers, a line at 0, the marker filled for a
    Holm-corrected ``better`` (green) or ``worse`` (red square), open for ``within
    noise``, a cross without a verdict; the student's row is blank. A row far from the
    others (:func:`off_scale`) is left out of a panel's scale and noted at its edge."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = board['methods'][::-1]
    positions = list(range(len(rows)))
    fig, (bars, gains) = plt.subplots(1, 2, sharey=True,
                                      figsize=(12, 0.45 * len(rows) + 1.5))
    bars.barh(positions, [row['mean'] for row in rows],
              xerr=[row['std'] or 0.0 for row in rows], capsize=3,
              color=['tab:gray' if row['name'] == STUDENT else 'tab:blue' for row in rows])
    bars.set_yticks(positions, [row['name'] for row in rows])
    if board['teacher']['metric'] is not None:
        bars.axvline(board['teacher']['metric'], color='tab:red', linestyle='--',
                     label='teacher')
        bars.legend(loc='lower right')
    far = off_scale([row['mean'] for row in rows])
    shown = [row for row, out in zip(rows, far) if not out]
    teacher = [] if board['teacher']['metric'] is None else [board['teacher']['metric']]
    _scale_to(bars, [row['mean'] + sign * (row['std'] or 0.0) for row in shown
                     for sign in (-1, 1)] + teacher)
    for position, row, out in zip(positions, rows, far):
        if out:
            _note_off_scale(bars, position, row['mean'],
                            f"{row['mean']:.4g} ± {row['std'] or 0.0:.2g}")
    bars.set_xlabel(f'{board["metric"]} (mean ± std over seeds {board["seeds"]})')
    gains.axvline(0.0, color='black', linewidth=0.8)
    legend = {}  # Holm verdict -> its first point
    for position, row in zip(positions, rows):
        gain = row['gain']
        if gain is None:
            continue
        whiskers = ([[gain['mean'] - gain['low']], [gain['high'] - gain['mean']]]
                    if gain['low'] is not None else None)
        holm = gain['verdict_holm']
        point = gains.errorbar([gain['mean']], [position], xerr=whiskers, capsize=3,
                               linestyle='none', **GAIN_STYLE[holm])
        legend.setdefault(holm, point)
    gained = [(position, row['gain']) for position, row in zip(positions, rows)
              if row['gain'] is not None]
    far = off_scale([gain['mean'] for _, gain in gained])
    if any(far):
        ends = [0.0] + [end for (_, gain), out in zip(gained, far) if not out
                        for end in (gain['low'], gain['high'], gain['mean'])
                        if end is not None]
        _scale_to(gains, ends)
        for (position, gain), out in zip(gained, far):
            if out:
                interval = (f" [{gain['low']:+.3g}, {gain['high']:+.3g}]"
                            if gain['low'] is not None else '')
                _note_off_scale(gains, position, gain['mean'],
                                f"{gain['mean']:+.3g}{interval}")
    verdicts = [verdict for verdict in GAIN_STYLE if verdict in legend]
    gains.legend([legend[v] for v in verdicts], verdicts, title='verdict (Holm)',
                 fontsize=7)
    pct = int(board['confidence'] * 100)
    gains.set_xlabel(f'gain over student, paired by seed (mean, {pct}% CI)')
    fig.tight_layout()
    return fig


def plot(board: Dict[str, Any], out_dir: Path) -> List[Path]:
    """``leaderboard.png`` (:func:`leaderboard_figure`) and ``curves.png``
    (validation metric against step, mean over seeds with a +-std band)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = board['methods']
    fig = leaderboard_figure(board)
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
    ax.set_ylabel(board['metric'])
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
