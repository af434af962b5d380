"""Plot the teacher-student CKA logged by ``CKAMonitorHook`` over training.

Reads every ``WORK_DIR/<timestamp>/vis_data/scalars.json`` (mmengine's
``LocalVisBackend``: one json object per line; training lines carry ``iter``,
validation lines only ``step``, which is the epoch for epoch-based runs) and draws one
line per run and key: a "train" panel over iterations and, when validation was
monitored, a "val" panel over the logged validation step.

Example::

    python tools/analysis/plot_cka.py work_dirs/rcka work_dirs/kd --out cka.png
    python tools/analysis/plot_cka.py work_dirs/rcka --keys cka/logits --out logits.png
"""
import argparse
import glob
import json
import os.path as osp
from typing import Dict, List, NamedTuple, Optional, Sequence

PHASES = ('train', 'val')


class Curve(NamedTuple):
    """One logged scalar: x = training iteration (train) or logged step (val)."""
    steps: List[int]
    values: List[float]


def scalar_files(work_dir: str) -> List[str]:
    """The run's ``scalars.json`` files, oldest first (resumed runs add new ones)."""
    files = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')))
    if not files:
        raise FileNotFoundError(
            f'no {osp.join(work_dir, "<timestamp>", "vis_data", "scalars.json")} found; '
            f"pass the runner's work_dir and log with LocalVisBackend (the default)")
    return files


def read_cka_curves(work_dir: str, keys: Optional[Sequence[str]] = None,
                    prefix: str = 'cka') -> Dict[str, Dict[str, Curve]]:
    """``phase -> key -> Curve`` of a work dir's CKA scalars.

    Args:
        work_dir: the runner's work dir.
        keys: keys to read as they appear in ``scalars.json`` (e.g. ``cka/logits``);
            default: every key starting with ``{prefix}/``.
        prefix: the ``CKAMonitorHook`` prefix used for the default ``keys``.
    """
    curves: Dict[str, Dict[str, Curve]] = {phase: {} for phase in PHASES}
    for path in scalar_files(work_dir):
        with open(path) as file:
            for line_no, line in enumerate(file, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise ValueError(f'{path}:{line_no} is not json: {error}') from error
                phase = 'train' if 'iter' in record else 'val'
                step = record['iter'] if phase == 'train' else record['step']
                for name, value in record.items():
                    # log_with_hierarchy=True keeps the 'train/' / 'val/' prefix
                    key = name.split('/', 1)[1] if name.startswith(f'{phase}/') else name
                    wanted = key in keys if keys else key.startswith(f'{prefix}/')
                    if wanted:
                        curve = curves[phase].setdefault(key, Curve([], []))
                        curve.steps.append(step)
                        curve.values.append(float(value))
    if keys:
        missing = set(keys) - {key for phase in curves.values() for key in phase}
        if missing:
            raise ValueError(f'{work_dir}: no scalars named {sorted(missing)} in '
                             f'{scalar_files(work_dir)}')
    elif not any(curves.values()):
        raise ValueError(f"{work_dir}: no '{prefix}/...' scalars; was CKAMonitorHook "
                         f'in custom_hooks?')
    return {phase: phase_curves for phase, phase_curves in curves.items() if phase_curves}


def plot_cka(runs: Dict[str, Dict[str, Dict[str, Curve]]], out: str) -> None:
    """Draw ``run -> phase -> key -> Curve`` into the PNG ``out``."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    phases = [phase for phase in PHASES if any(phase in run for run in runs.values())]
    fig, axes = plt.subplots(1, len(phases), figsize=(6 * len(phases), 4), squeeze=False)
    for ax, phase in zip(axes[0], phases):
        for run, run_curves in runs.items():
            for key, curve in run_curves.get(phase, {}).items():
                ax.plot(curve.steps, curve.values, marker='.', label=f'{run}: {key}')
        ax.set_title(f'teacher-student CKA ({phase})')
        ax.set_xlabel('iteration' if phase == 'train' else 'validation step (epoch or iter)')
        ax.set_ylabel('CKA')
        ax.grid(alpha=0.3)
        ax.legend(fontsize='small')
    fig.tight_layout()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR',
                        help='work dirs of the runs to compare')
    parser.add_argument('--out', default='cka.png', help='output PNG')
    parser.add_argument('--keys', nargs='+',
                        help='scalar keys to plot (default: all starting with PREFIX/)')
    parser.add_argument('--prefix', default='cka', help="CKAMonitorHook's prefix")
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = parse_args(argv)
    runs = {osp.normpath(work_dir):
            read_cka_curves(work_dir, args.keys, args.prefix)
            for work_dir in args.work_dirs}
    plot_cka(runs, args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
