"""The embedded demo (README command 1): teacher, student, distilled student, compared.

On the synthetic "shapes" dataset (generated if absent), for each task:

1. train the teacher once (reused when its checkpoint exists);
2. train the student alone and the student distilled from that teacher, same seed and
   schedule (each reused when its checkpoint exists, unless ``--retrain``);

   two trainings at a time (``--jobs``), each with cores / jobs threads, a distillation
   once its teacher has finished; while they run, one status line shows each one's
   epoch, iteration, latest loss and ETA (from its log; in place on a terminal, else a
   line at most every minute);
3. collect the validation metrics into ``WORK_DIR/results.json`` and
   ``WORK_DIR/results.md``, and plot each task's training losses into
   ``WORK_DIR/<task>_loss_curves.png``.

Example::

    python tools/run_demo.py --work-dir work_dirs/shapes_demo
"""
import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

sys.path.append(str(Path(__file__).resolve().parent))  # when loaded by path
from dependency_warnings import hide_dependency_warnings  # noqa: E402
from training_progress import ProgressBoard  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO / 'data' / 'shapes'  # where the shapes configs read by default


class Task(NamedTuple):
    """One task of the demo: its three configs and ``options``, the demo's own
    overrides of them (its training budget), given to all three trainings."""
    name: str
    metric: str
    metric_label: str
    method: str
    teacher: str
    student: str
    distill: str
    options: Tuple[str, ...] = ()


# The demo's budget, so that its six trainings fit in 15 min on the slower of the 2-core
# machines measured (docs/demo.md): detection one epoch (the shipped configs') on the
# first half of the training images, classification three epochs instead of the
# configs' four, and the distilled students validated alone (mmengine's ValLoop instead
# of mmrazor's loop that validates the teacher again: the table takes the teacher's
# value from its own training). The benchmark suites train longer
# (configs/benchmarks/shapes_*.py).
DEMO_DETECTION_IMAGES = 1536
DEMO_CLASSIFICATION_EPOCHS = 3
STUDENT_VALIDATION = 'val_cfg.type=ValLoop'
TASKS = [
    Task('detection', 'coco/bbox_mAP', 'bbox mAP', 'PCKA',
         'configs/shapes/retinanet_r34_fpn_shapes.py',
         'configs/shapes/retinanet_r18-w32_fpn_shapes.py',
         'configs/shapes/pcka_fpn_retina-r34_retina-r18-w32_shapes.py',
         (f'train_dataloader.dataset.indices={DEMO_DETECTION_IMAGES}', STUDENT_VALIDATION)),
    Task('classification', 'accuracy/top1', 'top-1 (%)', 'RCKA',
         'configs/rcka/shapes/resnet20_1xb32_shapes.py',
         'configs/rcka/shapes/resnet8_1xb32_shapes.py',
         'configs/rcka/shapes/rcka_resnet20_resnet8_1xb32_shapes.py',
         tuple(f'{key}={DEMO_CLASSIFICATION_EPOCHS}' for key in (
             'train_cfg.max_epochs', 'train_cfg.val_interval', 'param_scheduler.1.T_max',
             'default_hooks.checkpoint.interval')) + (STUDENT_VALIDATION, )),
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


class Training(NamedTuple):
    """One training of the demo. ``teacher``: the name of the training whose
    checkpoint it distils from; it starts once that one has finished."""
    name: str
    config: str
    work_dir: Path
    reuse: bool
    cfg_options: List[str]
    teacher: Optional[str] = None


def plan(root: Path, data_opts: List[str], retrain: bool) -> List[Training]:
    """Every task's trainings, in the order they start when a slot is free and their
    teacher has finished: the teachers (the longest chains) first, then the distilled
    students, then the students alone. Teachers are always reused when trained. Each
    gets its task's ``options``, then ``data_opts`` (which may override them)."""
    roles = (('teacher', 'teacher'), ('distilled', 'distill'), ('student', 'student'))
    return [Training(f'{task.name}/{role}', getattr(task, field), root / task.name / role,
                     role == 'teacher' or not retrain, [*task.options, *data_opts],
                     f'{task.name}/teacher' if role == 'distilled' else None)
            for role, field in roles for task in TASKS]


TRAINED_WITH = 'demo_training.json'  # what a finished training was trained with


def trained_with(training: Training) -> Dict[str, object]:
    """What makes a checkpoint reusable: the config and the options (the demo's
    budget, the data, the user's ``--cfg-options``)."""
    return dict(config=training.config, cfg_options=list(training.cfg_options))


def check_reusable(training: Training) -> None:
    """Refuse to reuse a checkpoint that another budget, data or override produced
    (an older demo's, or one made with other ``--cfg-options``)."""
    record = training.work_dir / TRAINED_WITH
    found = json.loads(record.read_text()) if record.exists() else None
    if found != trained_with(training):
        raise RuntimeError(
            f'{training.name}: {last_checkpoint(training.work_dir)} was trained with '
            f'{found if found is not None else "an unrecorded setting (an older demo)"}, '
            f'not with {trained_with(training)}; reusing it would mix budgets. Pass '
            f'another --work-dir, or delete {training.work_dir}')


def train(training: Training, threads: int, teacher_ckpt: Optional[Path] = None,
          board: Optional[ProgressBoard] = None) -> float:
    """Train unless reusable (a checkpoint of the same config and options, see
    :func:`check_reusable`), with ``threads`` torch threads (unless OMP_NUM_THREADS is
    set), its output to ``WORK_DIR/train_output.log``, which ``board`` follows while it
    runs; returns the seconds spent."""
    board = board if board is not None else ProgressBoard('[demo]')
    work_dir = training.work_dir
    if training.reuse and last_checkpoint(work_dir) is not None:
        check_reusable(training)
        board.message(f'[demo] {training.name}: reusing {last_checkpoint(work_dir)}')
        return 0.0
    options = training.cfg_options + (
        [f'model.teacher_ckpt={teacher_ckpt}'] if teacher_ckpt is not None else [])
    cmd = [sys.executable, str(REPO / 'tools' / 'train.py'), str(REPO / training.config),
           '--work-dir', str(work_dir)]
    if options:
        cmd += ['--cfg-options', *options]
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / 'train_output.log'
    board.message(f'[demo] {training.name}: training, output in {log}\n  ' + ' '.join(cmd))
    env = dict(os.environ)
    env.setdefault('OMP_NUM_THREADS', str(threads))
    start = time.perf_counter()
    with log.open('w') as out:
        board.follow(training.name, log)
        try:
            code = subprocess.run(cmd, cwd=REPO, env=env, stdout=out,
                                  stderr=subprocess.STDOUT).returncode
        finally:
            board.forget(training.name)
    if code != 0:
        tail = ''.join(log.read_text().splitlines(keepends=True)[-40:])
        raise RuntimeError(f'{training.name} failed (exit code {code}); the end of '
                           f'{log}:\n{tail}')
    seconds = time.perf_counter() - start
    (work_dir / TRAINED_WITH).write_text(json.dumps(trained_with(training)))
    board.message(f'[demo] {training.name}: done in {seconds / 60:.1f} min')
    return seconds


def train_all(trainings: Sequence[Training], jobs: int) -> Dict[str, float]:
    """Run ``trainings`` ``jobs`` at a time, each with cores / ``jobs`` threads, a
    distillation once its teacher has finished; returns the seconds of each. After a
    failure nothing new starts; the running ones finish, then the failure is raised.
    A status line shows the running ones' progress."""
    threads = max(1, len(os.sched_getaffinity(0)) // jobs)
    by_name = {training.name: training for training in trainings}
    pending, seconds = list(trainings), {}
    with ProgressBoard('[demo]') as board, ThreadPoolExecutor(jobs) as pool:
        running: Dict[Future, Training] = {}
        while pending or running:
            ready = [t for t in pending if t.teacher is None or t.teacher in seconds]
            for training in ready[:jobs - len(running)]:
                pending.remove(training)
                teacher_ckpt = None
                if training.teacher is not None:
                    teacher_ckpt = last_checkpoint(by_name[training.teacher].work_dir)
                    if teacher_ckpt is None:
                        raise FileNotFoundError(
                            f'{training.teacher} finished without a checkpoint in '
                            f'{by_name[training.teacher].work_dir}')
                future = pool.submit(train, training, threads, teacher_ckpt, board)
                running[future] = training
            if not running:
                raise ValueError(f'{pending[0].name} distils from {pending[0].teacher}, '
                                 'which is not in the plan')
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                training = running.pop(future)
                if future.exception() is not None and running:
                    waiting = ', '.join(t.name for t in running.values())
                    board.message(f'[demo] {training.name} failed; waiting for {waiting} '
                                  'to finish (the next run reuses what finished)')
                seconds[training.name] = future.result()
    return seconds


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
    parser.add_argument('--jobs', type=int, default=2,
                        help='trainings side by side, each with cores / jobs threads '
                        '(default 2: on 2 cores one thread each, as the benchmark suites '
                        'train)')
    parser.add_argument('--cfg-options', nargs='+', default=[], metavar='KEY=VALUE',
                        help='passed to every training, e.g. train_cfg.max_epochs=1')
    args = parser.parse_args()
    hide_dependency_warnings()
    if args.jobs < 1:
        parser.error(f'--jobs must be at least 1, got {args.jobs}')
    root, data = args.work_dir.resolve(), args.data.resolve()
    from mmrazor_relkd.datasets import NUM_TRAIN_IMAGES, NUM_VAL_IMAGES
    default_sizes = (NUM_TRAIN_IMAGES, NUM_VAL_IMAGES)
    if not dataset_complete(data, default_sizes if data == DEFAULT_DATA.resolve() else None):
        from mmrazor_relkd.datasets import generate_shapes_dataset
        print(f'[demo] generating the shapes dataset in {data}')
        generate_shapes_dataset(str(data))
    data_opts = data_options(data) + args.cfg_options
    seconds = train_all(plan(root, data_opts, args.retrain), args.jobs)
    results = []
    for task in TASKS:
        wd = {role: root / task.name / role for role in ('teacher', 'student', 'distilled')}
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
