"""The demo's bookkeeping: metrics from work dirs, checkpoint reuse, the table."""
import importlib.util
import io
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location('run_demo', REPO / 'tools' / 'run_demo.py')
run_demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(run_demo)


def _work_dir(root: Path, runs: dict) -> Path:
    for stamp, records in runs.items():
        vis = root / stamp / 'vis_data'
        vis.mkdir(parents=True)
        (vis / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))
    return root


def test_final_metric_reads_the_newest_run(tmp_path):
    wd = _work_dir(tmp_path, {
        '20260101_000000': [{'loss': 3.0, 'step': 1}, {'coco/bbox_mAP': 0.1, 'step': 1}],
        '20260102_000000': [{'loss': 2.0, 'step': 1}, {'coco/bbox_mAP': 0.2, 'step': 4},
                            {'coco/bbox_mAP': 0.25, 'step': 8}],
    })
    assert run_demo.final_metric(wd, 'coco/bbox_mAP') == 0.25
    with pytest.raises(KeyError, match='accuracy/top1'):
        run_demo.final_metric(wd, 'accuracy/top1')


def test_last_checkpoint_only_when_the_file_exists(tmp_path):
    assert run_demo.last_checkpoint(tmp_path) is None
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_8.pth'))
    assert run_demo.last_checkpoint(tmp_path) is None
    (tmp_path / 'epoch_8.pth').write_bytes(b'x')
    assert run_demo.last_checkpoint(tmp_path) == tmp_path / 'epoch_8.pth'


def _training(work_dir: Path, reuse: bool = False, options=(), name='t', teacher=None):
    return run_demo.Training(name, 'c.py', work_dir, reuse, list(options), teacher)


def test_train_reuses_a_checkpoint_only_of_the_same_config_and_options(tmp_path):
    (tmp_path / 'epoch_1.pth').write_bytes(b'x')
    (tmp_path / 'last_checkpoint').write_text(str(tmp_path / 'epoch_1.pth'))
    training = _training(tmp_path, reuse=True, options=['train_cfg.max_epochs=3'])
    # an older demo's checkpoint: nothing recorded
    with pytest.raises(RuntimeError, match=re.escape(
            f"t: {tmp_path / 'epoch_1.pth'} was trained with an unrecorded setting (an "
            f"older demo), not with {{'config': 'c.py', 'cfg_options': "
            f"['train_cfg.max_epochs=3']}}; reusing it would mix budgets. Pass another "
            f"--work-dir, or delete {tmp_path}")):
        run_demo.train(training, 1)
    (tmp_path / run_demo.TRAINED_WITH).write_text(json.dumps(
        dict(config='c.py', cfg_options=['train_cfg.max_epochs=4'])))
    with pytest.raises(RuntimeError, match=re.escape(
            "was trained with {'config': 'c.py', 'cfg_options': ['train_cfg.max_epochs=4']"
            "}, not with")):
        run_demo.train(training, 1)
    (tmp_path / run_demo.TRAINED_WITH).write_text(json.dumps(
        run_demo.trained_with(training)))
    assert run_demo.train(training, 1) == 0.0


def test_markdown_table():
    table = run_demo.markdown_table([dict(task='detection', metric='bbox mAP', method='PCKA',
                                          teacher=0.5, student=0.3, distilled=0.35)])
    assert '| detection | bbox mAP | 0.500 | 0.300 | 0.350 (PCKA) | +0.050 |' in table


def test_data_options_point_the_configs_at_the_data(tmp_path):
    """One key: the configs' DataRootRunner moves every loader and evaluator
    (tests/test_engine/test_data_root_runner.py)."""
    assert run_demo.data_options(tmp_path) == [f'data_root={tmp_path}/']
    assert run_demo.data_options(run_demo.DEFAULT_DATA) == []
    for task in run_demo.TASKS:
        for config in (task.teacher, task.student, task.distill):
            assert (REPO / config).exists(), config


def test_the_configs_read_the_default_data_from_any_directory(tmp_path, monkeypatch):
    """The demo passes no data options for data/shapes: every loader (and the COCO
    evaluator) of every demo config reads the repository's data/shapes from anywhere."""
    from mmengine.config import Config
    monkeypatch.chdir(tmp_path)
    root = run_demo.DEFAULT_DATA.resolve()
    for task in run_demo.TASKS:
        for config in (task.teacher, task.student, task.distill):
            cfg = Config.fromfile(str(REPO / config))
            for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
                assert Path(cfg[loader].dataset.data_root).resolve() == root, (config, loader)
            if 'ann_file' in cfg.val_evaluator:
                for ev in ('val_evaluator', 'test_evaluator'):
                    assert Path(cfg[ev].ann_file).resolve() == (
                        root / 'annotations' / 'instances_val.json')


class _Finished:
    returncode = 0


def test_train_passes_the_options_the_teacher_checkpoint_and_the_threads(tmp_path,
                                                                       monkeypatch):
    calls = []
    monkeypatch.delenv('OMP_NUM_THREADS', raising=False)
    monkeypatch.setattr(run_demo.subprocess, 'run',
                        lambda cmd, **kwargs: calls.append((cmd, kwargs)) or _Finished())
    run_demo.train(_training(tmp_path), 3)
    run_demo.train(_training(tmp_path, options=['a=1', 'b=2']), 1, tmp_path / 't.pth')
    assert '--cfg-options' not in calls[0][0]
    assert calls[1][0][-4:] == ['--cfg-options', 'a=1', 'b=2',
                                f'model.teacher_ckpt={tmp_path / "t.pth"}']
    assert [kwargs['env']['OMP_NUM_THREADS'] for _, kwargs in calls] == ['3', '1']
    # a finished training records what it was trained with, for a later reuse
    assert json.loads((tmp_path / run_demo.TRAINED_WITH).read_text()) == dict(
        config='c.py', cfg_options=['a=1', 'b=2'])


def test_train_keeps_the_users_thread_count_and_reports_a_failure(tmp_path, monkeypatch):
    class Failed:
        returncode = 2

    def fail(cmd, stdout, **kwargs):
        stdout.write('line 1\nKeyError: no such key\n')
        assert kwargs['env']['OMP_NUM_THREADS'] == '5'
        return Failed()

    monkeypatch.setenv('OMP_NUM_THREADS', '5')
    monkeypatch.setattr(run_demo.subprocess, 'run', fail)
    with pytest.raises(RuntimeError, match=r'(?s)t failed \(exit code 2\).*KeyError: no such'):
        run_demo.train(_training(tmp_path), 1)


def test_train_shows_the_trainings_progress_from_its_output(tmp_path, monkeypatch):
    """The board follows the training's output file while it runs, and forgets it
    after; the tool's own lines go through the board."""
    stream = io.StringIO()
    board = run_demo.ProgressBoard('[demo]', stream=stream)
    line = ('12/06 14:14:35 - mmengine - INFO - Epoch(train) [1][ 5/20]  lr: 8.3433e-05  '
            'eta: 0:00:10  time: 0.7025  data_time: 0.0715  grad_norm: 0.4713  '
            'loss: 1.7955  loss_cls: 1.1271  loss_bbox: 0.6684')

    def run(cmd, stdout, **kwargs):
        stdout.write(line + '\n')
        stdout.flush()
        board.refresh()  # what the board's thread does every second
        return _Finished()

    monkeypatch.setattr(run_demo.subprocess, 'run', run)
    run_demo.train(_training(tmp_path, name='detection/student'), 1, board=board)
    lines = stream.getvalue().splitlines()
    log = tmp_path / 'train_output.log'
    assert lines[0] == f'[demo] detection/student: training, output in {log}'
    assert lines[2] == '[demo] detection/student: epoch 1 iter 5/20 loss 1.796 ETA 0:00:10'
    assert lines[3].startswith('[demo] detection/student: done in ')
    assert len(lines) == 4 and board.followers == {} and board.statuses == {}


def test_plan_starts_the_teachers_first_and_distils_from_them(tmp_path):
    trainings = run_demo.plan(tmp_path, ['data_root=d/'], retrain=True)
    assert [t.name for t in trainings] == [
        'detection/teacher', 'classification/teacher', 'detection/distilled',
        'classification/distilled', 'detection/student', 'classification/student']
    by_name = {t.name: t for t in trainings}
    for task in run_demo.TASKS:
        distilled = by_name[f'{task.name}/distilled']
        assert (distilled.config, distilled.teacher) == (task.distill, f'{task.name}/teacher')
        assert by_name[f'{task.name}/teacher'].reuse  # the teacher is always reused
        assert not by_name[f'{task.name}/student'].reuse  # --retrain
        assert by_name[f'{task.name}/student'].work_dir == tmp_path / task.name / 'student'
    # the demo's budget first (the same for a task's three trainings), the user's last
    detection = ['train_dataloader.dataset.indices=1536', 'val_cfg.type=ValLoop',
                 'data_root=d/']
    classification = ['train_cfg.max_epochs=3', 'train_cfg.val_interval=3',
                      'param_scheduler.1.T_max=3', 'default_hooks.checkpoint.interval=3',
                      'val_cfg.type=ValLoop', 'data_root=d/']
    assert [t.cfg_options for t in trainings] == [
        detection, classification, detection, classification, detection, classification]
    assert all(t.reuse for t in run_demo.plan(tmp_path, [], retrain=False))


def _merged(config: str, options):
    """``config`` with ``options`` merged as tools/train.py's --cfg-options."""
    from mmengine.config import Config, DictAction
    cfg = Config.fromfile(str(run_demo.REPO / config))
    cfg.merge_from_dict({key: DictAction._parse_iterable(value)
                         for key, value in (o.split('=', 1) for o in options)})
    return cfg


def test_the_demo_detection_budget_trains_on_the_first_half_of_the_images(tmp_path):
    from mmengine.registry import init_default_scope

    from mmdet.registry import DATASETS
    from mmrazor_relkd.datasets import generate_shapes_dataset
    from mmrazor_relkd.engine.runners.data_root_runner import redirect_data_root
    data = generate_shapes_dataset(str(tmp_path / 'shapes'), num_train=1540, num_val=2,
                                   image_size=32)
    task = run_demo.TASKS[0]
    # the runner rebases the loaders onto data_root; built here without a runner
    cfg = redirect_data_root(
        _merged(task.student, [*task.options, *run_demo.data_options(Path(data))]))
    assert cfg.train_dataloader.dataset.data_root.startswith(str(Path(data).resolve()))
    init_default_scope('mmdet')
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(dataset) == run_demo.DEMO_DETECTION_IMAGES == 1536
    assert [dataset.get_data_info(i)['img_id'] for i in (0, 1535)] == [1, 1536]  # ids 1..1540


@pytest.mark.parametrize('task', run_demo.TASKS, ids=lambda task: task.name)
def test_the_demo_budget_reaches_every_training_of_a_task(task):
    epochs = {'detection': 1, 'classification': run_demo.DEMO_CLASSIFICATION_EPOCHS}
    for config in (task.teacher, task.student, task.distill):
        cfg = _merged(config, task.options)
        assert cfg.train_cfg.max_epochs == cfg.train_cfg.val_interval == \
            cfg.default_hooks.checkpoint.interval == epochs[task.name], config
        cosine = cfg.param_scheduler[1]
        assert cosine.type == 'CosineAnnealingLR' and cosine.T_max == epochs[task.name]
        # the student validated alone (mmrazor's distillation loop would validate the
        # teacher again)
        assert cfg.val_cfg.type == 'ValLoop', config
    distilled = _merged(task.distill, [])
    assert distilled.val_cfg.type == 'mmrazor.SingleTeacherDistillValLoop'


def _fake_training(events, durations):
    """A stand-in for ``train``: sleeps, logs start and end, leaves a checkpoint."""
    import time

    def train(training, threads, teacher_ckpt=None, board=None):
        events.append(('start', training.name, threads, teacher_ckpt))
        time.sleep(durations.get(training.name, 0.05))
        training.work_dir.mkdir(parents=True, exist_ok=True)
        (training.work_dir / 'epoch_1.pth').write_bytes(b'x')
        (training.work_dir / 'last_checkpoint').write_text(
            str(training.work_dir / 'epoch_1.pth'))
        events.append(('end', training.name))
        return durations.get(training.name, 0.05)
    return train


def test_train_all_runs_jobs_at_a_time_and_each_distillation_after_its_teacher(
        tmp_path, monkeypatch):
    events = []
    monkeypatch.setattr(run_demo, 'train', _fake_training(
        events, {'detection/teacher': 0.6, 'classification/teacher': 0.2}))
    monkeypatch.setattr(run_demo.os, 'sched_getaffinity', lambda pid: set(range(4)))
    seconds = run_demo.train_all(run_demo.plan(tmp_path, [], retrain=False), jobs=2)
    assert sorted(seconds) == sorted(t.name for t in run_demo.plan(tmp_path, [], False))
    running, most = set(), 0
    for event in events:
        if event[0] == 'start':
            running.add(event[1])
            most = max(most, len(running))
            assert event[2] == 2  # 4 cores / 2 jobs
        else:
            running.remove(event[1])
    assert most == 2
    at = {(event[0], event[1]): index for index, event in enumerate(events)}
    starts = {event[1]: event for event in events if event[0] == 'start'}
    for task in run_demo.TASKS:
        teacher = tmp_path / task.name / 'teacher'
        assert at['start', f'{task.name}/distilled'] > at['end', f'{task.name}/teacher']
        assert starts[f'{task.name}/distilled'][3] == teacher / 'epoch_1.pth'
        assert starts[f'{task.name}/teacher'][3] is None
    # the classification teacher finishes first: its distillation takes the free slot
    assert [e[1] for e in events if e[0] == 'start'][2] == 'classification/distilled'


def test_train_all_stops_starting_after_a_failure(tmp_path, monkeypatch, capsys):
    events = []
    fake = _fake_training(events, {'detection/teacher': 0.3})

    def train(training, threads, teacher_ckpt=None, board=None):
        if training.name == 'classification/teacher':
            raise RuntimeError('classification/teacher failed (exit code 1)')
        return fake(training, threads, teacher_ckpt, board)

    monkeypatch.setattr(run_demo, 'train', train)
    with pytest.raises(RuntimeError, match='classification/teacher failed'):
        run_demo.train_all(run_demo.plan(tmp_path, [], retrain=False), jobs=2)
    # the detection teacher, running at the failure, finished; nothing else started
    assert events == [('start', 'detection/teacher', events[0][2], None),
                      ('end', 'detection/teacher')]
    assert ('classification/teacher failed; waiting for detection/teacher to finish'
            in capsys.readouterr().out)


def test_train_all_refuses_a_distillation_without_its_teacher(tmp_path):
    with pytest.raises(ValueError, match='d distils from missing, which is not in the plan'):
        run_demo.train_all([_training(tmp_path, name='d', teacher='missing')], jobs=1)


def test_train_all_needs_the_teachers_checkpoint(tmp_path, monkeypatch):
    monkeypatch.setattr(run_demo, 'train',
                        lambda training, threads, ckpt=None, board=None: 1.0)
    trainings = [_training(tmp_path / 'a', name='a'),
                 _training(tmp_path / 'b', name='b', teacher='a')]
    with pytest.raises(FileNotFoundError, match=f'a finished without a checkpoint in '
                                                f'{tmp_path / "a"}'):
        run_demo.train_all(trainings, jobs=1)


def test_dataset_complete_needs_both_tasks_the_present_classes_and_the_sizes(tmp_path):
    from mmrazor_relkd.datasets import generate_shapes_dataset
    assert not run_demo.dataset_complete(tmp_path)
    generate_shapes_dataset(str(tmp_path), num_train=2, num_val=3, image_size=32)
    assert run_demo.dataset_complete(tmp_path)
    assert run_demo.dataset_complete(tmp_path, (2, 3))
    assert not run_demo.dataset_complete(tmp_path, (2, 4))  # e.g. an older default size
    assert not run_demo.dataset_complete(tmp_path, (3, 3))
    ann = tmp_path / 'annotations' / 'instances_val.json'
    coco = json.loads(ann.read_text())
    coco['categories'] = coco['categories'][:3]  # a dataset of another generator
    ann.write_text(json.dumps(coco))
    assert not run_demo.dataset_complete(tmp_path)
    generate_shapes_dataset(str(tmp_path), num_train=2, num_val=2, image_size=32)
    for crop in (tmp_path / 'crops' / 'val').iterdir():
        crop.unlink()
    (tmp_path / 'crops' / 'val').rmdir()
    assert not run_demo.dataset_complete(tmp_path)
