"""The GPU check: on a CUDA machine, install the carried wheels (no network), make
mmcv's CUDA ops work, then run and time the toy distillation trainings in float32 and
fp16, a mid-epoch resume, a distributed training and the PCKA benchmarks; one table
at the end (docs/gpu_check.md).

Every step has a time budget, and the whole check a deadline (``--deadline-s``) after
which the steps still to come are marked "not run (deadline)", so that a run stopped
by a time limit still reports. After every step the table
(``OUT/gpu_check.md``), the outcomes (``OUT/results.json``) and the steps' logs
(``OUT/logs.tar.gz``; also in ``WORK/logs/``) are rewritten.

    python3 tools/gpu_check/run_check.py --out OUT            # on the GPU host
    python3 tools/gpu_check/run_check.py --dry-run            # the plan, anywhere
    python tools/gpu_check/run_check.py --out OUT --skip-install   # an own GPU box
"""
import argparse
import io
import os
import re
import shutil
import sys
import tarfile
import time
from pathlib import Path
from typing import List, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from check_plan import Step, build_plan  # noqa: E402
from results_table import as_json, markdown  # noqa: E402
from step_runner import Outcome, StepRunner  # noqa: E402
from verdicts import GOAL_MISSED, PASSED  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_WHEELS = REPO / '.gpu_check' / 'wheels'


def parse_args(argv: Sequence[str] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', type=Path, help='where the table, the outcomes and '
                        'the logs go (required unless --dry-run)')
    parser.add_argument('--wheels', type=Path, default=DEFAULT_WHEELS,
                        help='the folder tools/gpu_check/prepare.py filled')
    parser.add_argument('--work', type=Path, default=Path('/tmp/gpu_check'),
                        help='data, work dirs, logs and the install target')
    parser.add_argument('--deadline-s', type=float, default=540,
                        help='seconds after the start by which the check has ended')
    parser.add_argument('--jobs', type=int, default=4,
                        help='toy trainings run side by side on the GPU')
    parser.add_argument('--budget-scale', type=float, default=1.0,
                        help='multiply every step\'s time budget (a slower machine)')
    parser.add_argument('--skip-install', action='store_true',
                        help='use the current environment (an own GPU box set up with '
                        'FORCE_CUDA=1 tools/setup_env.sh) instead of the carried wheels')
    parser.add_argument('--only', metavar='REGEX',
                        help='run only the steps whose name matches (fully); the '
                        'needs of a step left out count as met')
    parser.add_argument('--dry-run', action='store_true',
                        help='print the plan (steps, budgets, commands) and exit')
    args = parser.parse_args(argv)
    if args.out is None and not args.dry_run:
        parser.error('--out is required (unless --dry-run)')
    return args


def plan(args: argparse.Namespace) -> List[Step]:
    """The steps this invocation runs."""
    steps = build_plan(sys.executable, args.wheels.resolve(),
                       args.work.resolve() / 'site', args.work.resolve(),
                       args.out.resolve() if args.out else Path('OUT'),
                       install=not args.skip_install)
    if args.only:
        steps = [s for s in steps if re.fullmatch(args.only, s.name)]
    return [s._replace(budget_s=s.budget_s * args.budget_scale) for s in steps]


def describe(steps: Sequence[Step], deadline_s: float) -> str:
    """The plan as ``--dry-run`` prints it."""
    budget = sum(step.budget_s for step in steps)
    lines = [f'GPU check: {len(steps)} steps, deadline {deadline_s:.0f} s after the '
             f'start (budgets add up to {budget:.0f} s; parallel steps overlap)']
    lines += [f'{number:2d}. {step.describe()}' for number, step in enumerate(steps, 1)]
    return '\n'.join(lines)


def step_env(args: argparse.Namespace) -> dict:
    """The environment of every step: the install target, then the repository, first
    on ``PYTHONPATH``."""
    paths = ([] if args.skip_install else [str(args.work.resolve() / 'site')]) + [str(REPO)]
    if os.environ.get('PYTHONPATH'):
        paths.append(os.environ['PYTHONPATH'])
    return {**os.environ, 'PYTHONPATH': os.pathsep.join(paths), 'PYTHONUNBUFFERED': '1',
            'MPLBACKEND': 'Agg'}


def _write(path: Path, data: bytes) -> None:
    """Replace ``path`` at once, so a run killed while writing leaves the last copy."""
    partial = path.with_name(path.name + '.partial')
    partial.write_bytes(data)
    os.replace(partial, path)


def report_writer(out: Path, logs: Path, heading: Sequence[str]):
    """``on_update``: rewrite the table, the outcomes and the logs' archive."""
    def write(outcomes: List[Outcome]) -> None:
        out.mkdir(parents=True, exist_ok=True)
        _write(out / 'gpu_check.md', markdown(outcomes, heading).encode())
        _write(out / 'results.json', as_json(outcomes).encode())
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode='w:gz') as tar:
            tar.add(logs, arcname='logs')
        _write(out / 'logs.tar.gz', archive.getvalue())
    return write


def main(argv: Sequence[str] = None) -> int:
    args = parse_args(argv)
    steps = plan(args)
    if args.dry_run:
        print(describe(steps, args.deadline_s))
        return 0
    work, out = args.work.resolve(), args.out.resolve()
    for stale in ('runs', 'logs'):
        shutil.rmtree(work / stale, ignore_errors=True)
    (work / 'logs').mkdir(parents=True, exist_ok=True)
    heading = ['# GPU check', '',
               f'Started {time.strftime("%Y-%m-%d %H:%M:%S %Z")}, deadline '
               f'{args.deadline_s:.0f} s, {args.jobs} toy trainings at a time; logs in '
               'logs.tar.gz.', '']
    write = report_writer(out, work / 'logs', heading)

    def on_update(outcome: Outcome, outcomes: List[Outcome]) -> None:
        write(outcomes)
        seconds = '' if outcome.seconds is None else f' ({outcome.seconds:.0f} s)'
        print(f'[{outcome.status}] {outcome.name}{seconds}: {outcome.result}', flush=True)

    runner = StepRunner(steps, args.deadline_s, work / 'logs', REPO, step_env(args),
                        jobs=args.jobs, on_update=on_update)
    print(describe(steps, args.deadline_s), flush=True)
    outcomes = runner.run()
    write(outcomes)
    print('\n' + markdown(outcomes, heading), flush=True)
    return 0 if all(o.status in (PASSED, GOAL_MISSED) for o in outcomes) else 1


if __name__ == '__main__':
    sys.exit(main())
