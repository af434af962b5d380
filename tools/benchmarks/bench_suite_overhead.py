"""Training overhead of a suite's methods, one training at a time on the machine.

``tools/analysis/compare_methods.py`` reports seconds per iteration from trainings
that may run side by side (``--jobs``), so its overhead column mixes loads. This
benchmark measures every entry of a suite (the plain student and each method) alone:
each measurement is a fresh training process (``OMP_NUM_THREADS`` =
``MKL_NUM_THREADS`` = ``--threads``) started from the config compare_methods would
train (the same merged ``config.py``, seed, teacher checkpoint under the suite's
``teacher_ckpt_key`` and ``--cfg-options``) with its own training loop (hooks that need
an epoch-based loop, such as KDA's landmark hook, keep working), no validation, no
checkpoints, in a temporary work dir. The training stops after ``--warmup-epochs`` whole
epochs, ``--warmup`` more iterations and ``--iters`` timed ones: a loss that switches on
after its first epoch (KDA's landmarks come from the previous epoch's features) is timed
switched on with ``--warmup-epochs 1``. A measurement is the median of mmengine's logged
``time`` (seconds per training iteration, the data wait included: what compare_methods'
column reads) over the timed iterations, and the process's peak resident set size
(``VmHWM`` on Linux); the dataloader workers (``num_workers`` as in each config, as in
training) are separate processes whose memory is not included. The first iteration of an
epoch waits for the dataloader to start; the median leaves it out when epochs are several
iterations long.

Entries are measured one after another; every second round runs in reverse order
(ABBA) so that a drifting machine load hits all alike. The table gives, per entry,
the median s/iter over rounds, its ratio to the student's, and the largest peak RSS.

    python tools/benchmarks/bench_suite_overhead.py \\
        configs/benchmarks/shapes_classification.py --warmup-epochs 1 --iters 40 \\
        --warmup 5 --rounds 2 --threads 1 --out overhead.md

The teacher checkpoint defaults to the suite's own (``teacher.checkpoint``) or the one
compare_methods trained into ``work_dirs/benchmarks/<suite name>/teacher/``; any
checkpoint of the teacher's architecture will do (``--teacher-checkpoint``): its weights
barely change the time of an iteration.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

from mmengine.hooks import Hook

TOOLS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TOOLS / 'analysis'), str(TOOLS)]  # compare_methods, train, helpers
import compare_methods as compare  # noqa: E402
from dependency_warnings import hide_dependency_warnings  # noqa: E402

MEASURE = '--measure-one'  # first argument of a measurement's child process
TRAIN_SCRIPT = TOOLS / 'train.py'
NEVER = 2**62  # the train loop's val_begin: no validation


class Measurement(NamedTuple):
    """One training's timing, as its process reports it."""
    name: str
    round: int
    sec_per_iter: float
    peak_rss_mib: float
    threads: int
    torch: str
    device: str


# ------------------------------------------------------------- the child process


class EnoughIterations(Exception):
    """Raised by :class:`IterationTimes` to end the training once it has its times."""


class IterationTimes(Hook):
    """Collects mmengine's logged ``train/time`` (IterTimerHook) of ``iters``
    iterations after ``warmup_epochs`` epochs and ``warmup`` more iterations, then
    stops the training (:class:`EnoughIterations`)."""

    def __init__(self, warmup_epochs: int, warmup: int, iters: int) -> None:
        self.warmup_epochs = warmup_epochs
        self.warmup = warmup
        self.iters = iters
        self.times: List[float] = []

    def first_timed_iter(self, runner) -> int:
        """The global index of the first timed iteration."""
        return self.warmup_epochs * len(runner.train_dataloader) + self.warmup

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        if runner.iter >= self.first_timed_iter(runner):
            self.times.append(runner.message_hub.get_scalar('train/time').current())
        if len(self.times) == self.iters:
            raise EnoughIterations


def measure_one(argv: Sequence[str]) -> None:
    """The child: ``WARMUP_EPOCHS WARMUP ITERS RESULT_JSON`` then tools/train.py's
    arguments. Builds the config as tools/train.py does, trains with the config's loop
    without validation or checkpoints until :class:`IterationTimes` has its ``ITERS``
    times, and writes the measurement to ``RESULT_JSON``."""
    warmup_epochs, warmup, iters, result, *train_args = argv
    warmup_epochs, warmup, iters = int(warmup_epochs), int(warmup), int(iters)
    hide_dependency_warnings()
    import torch
    import train
    from mmengine.registry import RUNNERS
    from mmengine.runner import Runner
    from mmrazor.utils import register_all_modules
    register_all_modules(False)
    sys.argv = [str(TRAIN_SCRIPT), *train_args]
    cfg = train.build_config(train.parse_args())
    # validation stays configured (KDA's landmark hook takes its diagnostic batch from
    # the val dataloader) but never starts
    cfg.train_cfg.val_begin = NEVER
    for part in ('dataloader', 'cfg', 'evaluator'):
        cfg[f'test_{part}'] = None
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    times = IterationTimes(warmup_epochs, warmup, iters)
    runner.register_hook(times, priority='LOWEST')
    try:
        runner.train()
    except EnoughIterations:
        pass
    else:
        raise RuntimeError(
            f'the training ended after {runner.iter} iterations, before the measurement '
            f'had its {iters} timed iterations (the first one is iteration '
            f'{times.first_timed_iter(runner)}: {warmup_epochs} warm-up epoch(s) of '
            f'{len(runner.train_dataloader)} iterations and {warmup} warm-up '
            f'iterations); lower --warmup-epochs, --warmup or --iters')
    Path(result).write_text(json.dumps(dict(
        sec_per_iter=statistics.median(times.times),
        # VmHWM, not ru_maxrss: the latter keeps the parent's peak from before exec
        peak_rss_mib=compare._memory_peak() * compare.MAXRSS_BYTES / 2**20,
        threads=torch.get_num_threads(), torch=torch.__version__,
        device=torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')))


# ------------------------------------------------------------------ the parent


def default_teacher_checkpoint(suite: compare.Suite) -> str:
    """The suite's teacher checkpoint, else the one compare_methods trained into
    ``work_dirs/benchmarks/<suite name>/teacher/``."""
    if suite.teacher.checkpoint is not None:
        return suite.teacher.checkpoint
    work_root = compare.REPO / 'work_dirs' / 'benchmarks' / suite.path.stem
    runs = compare.plan_runs(suite, [], work_root)
    if compare.run_state(runs[0]) != 'done':
        raise FileNotFoundError(
            f'no teacher checkpoint for {suite.path.name}: '
            f'{runs[0].work_dir / compare.RESULT_FILE} does not exist. compare_methods '
            f'trains the teacher first: run `python tools/analysis/compare_methods.py '
            f'{suite.path}` (stop it once the teacher is done), or pass '
            f'--teacher-checkpoint PATH (any checkpoint of the teacher\'s architecture: '
            f'its weights barely change the time of an iteration)')
    return compare.teacher_checkpoint(runs)


def plan(suite: compare.Suite, methods: Optional[Sequence[str]],
         work_root: Path) -> List[compare.Run]:
    """The student's and the chosen methods' runs (all methods when ``methods`` is
    None), in the suite's order, with the suite's first seed."""
    names = [method.name for method in suite.methods]
    unknown = sorted(set(methods or []) - set(names))
    if unknown:
        raise ValueError(f'--methods: {unknown} not in {suite.path.name}; its methods '
                         f'are {names} (the student is always measured)')
    chosen = [m for m in suite.methods if methods is None or m.name in methods]
    return [run for run in compare.plan_runs(suite._replace(methods=chosen),
                                             suite.seeds[:1], work_root)
            if run.name != compare.TEACHER]


def measurement_order(names: Sequence[str], rounds: int) -> List[Tuple[int, str]]:
    """(round, name) in measurement order: forward, then backward (ABBA), ..."""
    return [(index, name) for index in range(rounds)
            for name in (names if index % 2 == 0 else list(reversed(names)))]


def measure(run: compare.Run, index: int, launch: compare.Launch, teacher_ckpt: str,
            warmup_epochs: int, warmup: int, iters: int, threads: int) -> Measurement:
    """Train ``run`` for ``warmup_epochs`` epochs and ``warmup + iters`` iterations in a
    fresh process and read its measurement."""
    result = run.work_dir / f'round{index}.json'
    train_args = compare.train_command(run, launch, teacher_ckpt, resume=False)[2:]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    log = run.work_dir / f'round{index}.log'
    with log.open('w') as out:
        command = [sys.executable, __file__, MEASURE, str(warmup_epochs), str(warmup),
                   str(iters), str(result), *train_args]
        code = subprocess.run(command, cwd=compare.REPO, env=env, stdout=out,
                              stderr=subprocess.STDOUT).returncode
    if code != 0:
        tail = ''.join(log.read_text().splitlines(keepends=True)[-compare.TAIL_LINES:])
        raise compare.RunFailed(f'{run.name} (round {index + 1}) failed (exit code '
                                f'{code}); the end of its output:\n{tail}')
    return Measurement(run.name, index, **json.loads(result.read_text()))


def cpu_model() -> str:
    """``lscpu``'s model name (the platform's processor string without lscpu)."""
    try:
        out = subprocess.run(['lscpu'], capture_output=True, text=True, check=True,
                             env=dict(os.environ, LC_ALL='C')).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or 'unknown'
    return next((line.split(':', 1)[1].strip() for line in out.splitlines()
                 if line.startswith('Model name:')), 'unknown')


def markdown(suite: compare.Suite, measurements: Sequence[Measurement],
             args: argparse.Namespace, command: str) -> str:
    """The table (student first, then the methods in the suite's order) with the
    command, date, machine and the definitions in its header."""
    by_name: Dict[str, List[Measurement]] = {}
    for measurement in measurements:
        by_name.setdefault(measurement.name, []).append(measurement)
    seconds = {name: statistics.median(m.sec_per_iter for m in group)
               for name, group in by_name.items()}
    first = measurements[0]
    threads = sorted({m.threads for m in measurements})
    lines = [
        f'# {suite.path.name}: training overhead, one training at a time', '',
        f'Command: `{command}`', '',
        f"Date {datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}, CPU "
        f'{cpu_model()}, device {first.device}, torch {first.torch}, '
        f"{'/'.join(map(str, threads))} thread(s) per training "
        f'(OMP_NUM_THREADS = MKL_NUM_THREADS = {args.threads}), seed {suite.seeds[0]}.',
        '',
        f's/iter: median over {args.rounds} round(s) (every second one in reverse order) '
        f"of each training's median of mmengine's `time` (data wait included) over "
        f'{args.iters} iterations after {args.warmup_epochs} warm-up epoch(s) and '
        f"{args.warmup} warm-up iterations (the config's own loop, no validation). Peak "
        "RSS: the training process's maximum resident set size (VmHWM on Linux), the "
        'largest over rounds; its dataloader workers are not included.',
        '', '| method | s/iter | x student | peak RSS (MiB) |', '|---|---:|---:|---:|'
    ]
    for name, group in by_name.items():
        label = f'**{name}**' if name == compare.STUDENT else name
        lines.append(f'| {label} | {seconds[name]:.4f} | '
                     f'{seconds[name] / seconds[compare.STUDENT]:.2f} | '
                     f'{max(m.peak_rss_mib for m in group):.0f} |')
    return '\n'.join(lines) + '\n'


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('suite', help='suite config, e.g. configs/benchmarks/...py')
    parser.add_argument('--teacher-checkpoint', metavar='CKPT',
                        help='default: the suite\'s, else the one compare_methods '
                        'trained into work_dirs/benchmarks/<suite name>/teacher/')
    parser.add_argument('--iters', type=int, default=40,
                        help='timed iterations per training')
    parser.add_argument('--warmup-epochs', type=int, default=0,
                        help='untimed epochs first (1 times a loss that starts after '
                        'its first epoch, such as KDA, switched on)')
    parser.add_argument('--warmup', type=int, default=5,
                        help='untimed iterations after the warm-up epochs')
    parser.add_argument('--rounds', type=int, default=2,
                        help='measurements per entry; every second round in reverse '
                        'order')
    parser.add_argument('--threads', type=int, default=1,
                        help='OMP_NUM_THREADS and MKL_NUM_THREADS of each training')
    parser.add_argument('--methods', nargs='+', metavar='NAME',
                        help='only these methods (default: all; the student always)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='passed to every training (tools/train.py --cfg-options)')
    parser.add_argument('--out', metavar='FILE.md',
                        help='also write the table to this markdown file')
    args = parser.parse_args(argv)
    if (args.iters < 1 or args.rounds < 1 or args.threads < 1 or args.warmup < 0
            or args.warmup_epochs < 0):
        parser.error('--iters, --rounds and --threads must be at least 1, --warmup and '
                     '--warmup-epochs at least 0')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    hide_dependency_warnings()
    suite = compare.load_suite(args.suite)
    with tempfile.TemporaryDirectory(prefix='bench_suite_overhead_') as tmp:
        runs = plan(suite, args.methods, Path(tmp))
        teacher_ckpt = args.teacher_checkpoint or default_teacher_checkpoint(suite)
        if '://' not in teacher_ckpt and not Path(teacher_ckpt).exists():
            raise FileNotFoundError(f'teacher checkpoint {teacher_ckpt} does not exist; '
                                    'pass --teacher-checkpoint PATH')
        launch = compare.Launch('none', 1, None, suite.deterministic, args.cfg_options,
                                suite.teacher_ckpt_key)
        by_name = {run.name: run for run in runs}
        for run in runs:
            compare.write_run_config(run)
        order = measurement_order(list(by_name), args.rounds)
        measurements = []
        for step, (index, name) in enumerate(order, 1):
            measurement = measure(by_name[name], index, launch, teacher_ckpt,
                                  args.warmup_epochs, args.warmup, args.iters,
                                  args.threads)
            measurements.append(measurement)
            print(f'[overhead] {step}/{len(order)} round {index + 1} {name}: '
                  f'{measurement.sec_per_iter:.4f} s/iter, peak RSS '
                  f'{measurement.peak_rss_mib:.0f} MiB', flush=True)
    command = ' '.join(['python', 'tools/benchmarks/bench_suite_overhead.py', *(
        argv if argv is not None else sys.argv[1:])])
    table = markdown(suite, measurements, args, command)
    print('\n' + table)
    if args.out:
        Path(args.out).write_text(table)
        print(f'[overhead] wrote {args.out}')
    return 0


if __name__ == '__main__':
    if sys.argv[1:2] == [MEASURE]:
        measure_one(sys.argv[2:])
    else:
        sys.exit(main())
