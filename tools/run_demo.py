"""The embedded demo (README command 1): teacher, student, distilled student, compared.

On the synthetic "shapes" dataset (generated if absent), for each task:

1. train the teacher once (reused when its checkpoint exists);
2. train the student alone and the student distilled from that teacher, same seed and
   schedule (each reused when its checkpoint exists, unless ``--retrain``);
3. collect the validation metrics into ``WORK_DIR/results.json`` and
   ``WORK_DIR/results.md``, and plot the training losses into ``WORK_DIR/loss_curves.png``.

Example::

    python tools/run_demo.py --work-dir work_dirs/shapes_demo
"""
import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / 'data' / 'shapes'  # where the shapes configs read by default


class Task(NamedTuple):
    name: str
    metric: str
    metric_label: str
    method: str
    teacher: str
    student: str
    distill: str


TASKS = [
    Task('detection', 'coco/bbox_mAP', 'bbox mAP', 'PCKA',
         'configs/shapes/retinanet_r34_fpn_shapes.py',
         'configs/shapes/retinanet_r18-w32_fpn_shapes.py',
         'configs/shapes/pcka_fpn_retina-r34_retina-r18-w32_shapes.py'),
    Task('classification', 'accuracy/top1', 'top-1 (%)', 'RCKA',
         'configs/rcka/shapes/resnet20_1xb32_shapes.py',
         'configs/rcka/shapes/resnet8_1xb32_shapes.py',
         'configs/rcka/shapes/rcka_resnet20_resnet8_1xb32_shapes.py'),
]


def data_options(data_root: Path) -> List[str]:
    """The ``KEY=VALUE`` override that points a shapes config at ``data_root`` (its
    ``DataRootRunner`` moves every loader and evaluator): none for the configs' own
    default, the repository's data/shapes."""
    root = data_root.resolve()
    return [] if root == DEFAULT_DATA.resolve() else [f'data_root={root}/']


def dataset_complete(data: Path, sizes: Optional[Tuple[int, int]] = None) -> bool:
    """Whether ``data`` holds a shapes dataset of the present generator with both
    tasks' files and, if given, ``sizes`` = (training, validation) images. One from an
    earlier version (without the classification crops, with other classes or, in the
    default location, of another size) is regenerated."""
    from mmrazor_relkd.datasets import CLASSES
    names = [f'annotations/{kind}_{split}.{ext}' for split in ('train', 'val')
             for kind, ext in (('instances', 'json'), ('cls', 'txt'))]
    if not all((data / name).exists() for name in names + ['crops/val']):
        return False
    for index, split in enumerate(('train', 'val')):
        coco = json.loads((data / 'annotations' / f'instances_{split}.json').read_text())
        if [c['name'] for c in coco['categories']] != list(CLASSES):
            return False
        if sizes is not None and len(coco['images']) != sizes[index]:
            return False
    return True


def latest_scalars(work_dir: Path) -> List[Dict]:
    """Records of the newest run's ``vis_data/scalars.json`` in ``work_dir``."""
    runs = sorted(work_dir.glob('*/vis_data/scalars.json'))
    if not runs:
        raise FileNotFoundError(f'no */vis_data/scalars.json under {work_dir}')
    return [json.loads(line) for line in runs[-1].read_text().splitlines() if line]


def final_metric(work_dir: Path, key: str) -> float:
    values = [rec[key] for rec in latest_scalars(work_dir) if key in rec]
    if not values:
        raise KeyError(f'{work_dir} logged no `{key}`: did its validation run?')
    return float(values[-1])


def last_checkpoint(work_dir: Path) -> Optional[Path]:
    pointer = work_dir / 'last_checkpoint'
    if not pointer.exists():
        return None
    path = Path(pointer.read_text().strip())
    return path if path.exists() else None


def train(config: str, work_dir: Path, reuse: bool, cfg_options: Sequence[str]) -> float:
    """Train ``config`` into ``work_dir`` with the ``KEY=VALUE`` overrides
    ``cfg_options`` unless reusable; returns the seconds spent."""
    if reuse and last_checkpoint(work_dir) is not None:
        print(f'[demo] reusing {last_checkpoint(work_dir)}')
        return 0.0
    cmd = [sys.executable, str(REPO / 'tools' / 'train.py'), str(REPO / config),
           '--work-dir', str(work_dir)]
    if cfg_options:
        cmd += ['--cfg-options', *cfg_options]
    print('[demo] ' + ' '.join(cmd), flush=True)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, cwd=REPO)
    return time.perf_counter() - start


def plot_losses(runs: Dict[str, Path], out: Path) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, work_dir in runs.items():
        records = [r for r in latest_scalars(work_dir) if 'loss' in r]
        for key in sorted({k for r in records for k in r if 'loss' in k}):
            points = [(r['step'], r[key]) for r in records if key in r]
            ax.plot(*zip(*points), label=f'{label}: {key}')
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss')
    ax.set_yscale('log')
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def markdown_table(results: List[Dict]) -> str:
    lines = ['| task | metric | teacher | student | student + method | gain |',
             '|---|---|---|---|---|---|']
    for r in results:
        gain = r['distilled'] - r['student']
        lines.append(f"| {r['task']} | {r['metric']} | {r['teacher']:.3f} | "
                     f"{r['student']:.3f} | {r['distilled']:.3f} ({r['method']}) | "
                     f'{gain:+.3f} |')
    return '\n'.join(lines) + '\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', type=Path, default=REPO / 'work_dirs' / 'shapes_demo')
    parser.add_argument('--data', type=Path, default=DEFAULT_DATA,
                        help='the shapes dataset (generated there if absent)')
    parser.add_argument('--retrain', action='store_true',
                        help='retrain the students even if their checkpoints exist')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='passed to every training, e.g. train_cfg.max_epochs=1')
    args = parser.parse_args()
    root, data = args.work_dir.resolve(), args.data.resolve()
    from mmrazor_relkd.datasets import NUM_TRAIN_IMAGES, NUM_VAL_IMAGES
    default_sizes = (NUM_TRAIN_IMAGES, NUM_VAL_IMAGES)
    if not dataset_complete(data, default_sizes if data == DEFAULT_DATA.resolve() else None):
        from mmrazor_relkd.datasets import generate_shapes_dataset
        print(f'[demo] generating the shapes dataset in {data}')
        generate_shapes_dataset(str(data))
    results, seconds = [], {}
    for task in TASKS:
        data_opts = data_options(data) + args.cfg_options
        wd = {role: root / task.name / role for role in ('teacher', 'student', 'distilled')}
        seconds[f'{task.name}/teacher'] = train(task.teacher, wd['teacher'], True, data_opts)
        teacher_ckpt = last_checkpoint(wd['teacher'])
        seconds[f'{task.name}/student'] = train(task.student, wd['student'],
                                                not args.retrain, data_opts)
        seconds[f'{task.name}/distilled'] = train(
            task.distill, wd['distilled'], not args.retrain,
            data_opts + [f'model.teacher_ckpt={teacher_ckpt}'])
        results.append(dict(task=task.name, metric=task.metric_label, method=task.method,
                            **{role: final_metric(path, task.metric)
                               for role, path in wd.items()}))
        plot_losses({'student': wd['student'], f'student + {task.method}': wd['distilled']},
                    root / f'{task.name}_loss_curves.png')
    table = markdown_table(results)
    (root / 'results.json').write_text(json.dumps(
        dict(results=results, train_seconds=seconds), indent=2))
    (root / 'results.md').write_text(table)
    print('\n' + table)
    print(f'[demo] results in {root}/results.json, results.md, *_loss_curves.png')


if __name__ == '__main__':
    main()
