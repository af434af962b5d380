"""tools/training_progress.py: mmengine's training log lines parsed, followed as the
file grows, and shown in place on a terminal or as occasional lines elsewhere."""
import datetime
import io
import sys
from pathlib import Path

import pytest

sys.path.append(str(Path(__file__).resolve().parents[2] / 'tools'))
from training_progress import (LogFollower, ProgressBoard, TrainingStatus,  # noqa: E402
                               describe, parse_training_line)

# Lines of real trainings' output (tools/train.py, mmengine 0.10.7, 2026-12-06): the
# classification teacher, the detection student, an RCKA distillation (its total `loss`
# and the parts), an iteration-based loop, and validation and test lines.
CLASSIFICATION = ('12/06 14:12:58 - mmengine - INFO - Epoch(train) [1][1/1]  '
                  'lr: 5.0000e-04  eta: 0:00:00  time: 0.7317  data_time: 0.2195  '
                  'loss: 1.3780')
DETECTION = ('12/06 14:14:35 - mmengine - INFO - Epoch(train) [1][ 5/20]  '
             'lr: 8.3433e-05  eta: 0:00:10  time: 0.7025  data_time: 0.0715  '
             'grad_norm: 0.4713  loss: 1.7955  loss_cls: 1.1271  loss_bbox: 0.6684')
DISTILLATION = ('12/06 14:14:06 - mmengine - INFO - Epoch(train) [2][ 4/10]  '
                'lr: 5.3287e-03  eta: 0:00:01  time: 0.2825  data_time: 0.0308  '
                'loss: 1.9061  student.loss: 1.3883  distill.loss_fcka: 0.5160  '
                'distill.loss_lcka: 0.0018')
ITERATION_BASED = ('12/06 14:17:16 - mmengine - INFO - Iter(train) [2/6]  '
                   'lr: 5.0000e-02  eta: 0:00:01  time: 0.3447  data_time: 0.0539  '
                   'loss: 1.3918')
VALIDATION = ('12/06 14:14:09 - mmengine - INFO - Epoch(val) [2][1/1]    '
              'accuracy/top1: 25.0000  teacher.accuracy/top1: 12.5000  '
              'data_time: 0.0678  time: 0.1159')
TEST = ('12/06 14:15:11 - mmengine - INFO - Epoch(test) [1/1]    coco/bbox_mAP: 0.0070  '
        'coco/bbox_mAP_50: 0.0470  data_time: 0.1685  time: 0.6511')
ITERATION_BASED_VALIDATION = ('12/06 14:17:17 - mmengine - INFO - Iter(val) [1/1]    '
                              'accuracy/top1: 12.5000  data_time: 0.1057  time: 0.1304')


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize('line,status', [
    (CLASSIFICATION, TrainingStatus(1, 1, 1, '0:00:00', 1.378)),
    (DETECTION, TrainingStatus(1, 5, 20, '0:00:10', 1.7955)),
    (DISTILLATION, TrainingStatus(2, 4, 10, '0:00:01', 1.9061)),
    (ITERATION_BASED, TrainingStatus(None, 2, 6, '0:00:01', 1.3918)),
])
def test_parse_real_training_lines(line, status):
    assert parse_training_line(line) == status


@pytest.mark.parametrize('line', [
    VALIDATION, TEST, ITERATION_BASED_VALIDATION,
    '12/06 14:14:32 - mmengine - INFO - Checkpoints will be saved to /tmp/x.', ''])
def test_parse_other_lines_as_nothing(line):
    assert parse_training_line(line) is None


def test_parse_an_eta_over_a_day_and_a_line_without_eta_or_loss():
    eta = str(datetime.timedelta(seconds=93784))  # how mmengine writes the ETA
    line = f'Epoch(train)  [12][ 5/10]  lr: 1.0000e-02  eta: {eta}  loss: nan'
    status = parse_training_line(line)
    assert status[:4] == (12, 5, 10, '1 day, 2:03:04')
    assert status.loss != status.loss  # nan
    assert parse_training_line('Epoch(train) [3][7/9]  lr: 1.0000e-02  ') == (
        TrainingStatus(3, 7, 9, None, None))


def test_describe():
    assert describe(TrainingStatus(2, 50, 384, '0:04:10', 1.23456)) == (
        'epoch 2 iter 50/384 loss 1.235 ETA 0:04:10')
    assert describe(TrainingStatus(None, 50, 1000, None, None)) == 'iter 50/1000'


def test_log_follower_reads_what_was_appended_in_whole_lines(tmp_path):
    log = tmp_path / 'train.log'
    early = LogFollower(log)
    assert early.new_lines() == []  # no file yet
    log.write_text('old 1\nold 2\n')
    late = LogFollower(log)  # e.g. a resumed run appending to its log
    with log.open('a') as out:
        out.write('new 1\nnew ')
        out.flush()
        assert late.new_lines() == ['new 1']
        assert early.new_lines() == ['old 1', 'old 2', 'new 1']
        out.write('2\n')
    assert late.new_lines() == ['new 2']
    assert late.new_lines() == []


def _board(stream, clock=None, interval=60.0):
    return ProgressBoard('[demo]', stream=stream, interval=interval,
                         clock=clock or Clock())


def test_terminal_status_line_is_rewritten_in_place(tmp_path, monkeypatch):
    monkeypatch.setenv('COLUMNS', '200')
    terminal = Terminal()
    board = _board(terminal)
    first, second = tmp_path / 'a.log', tmp_path / 'b.log'
    board.follow('cls/teacher', first)
    board.follow('det/teacher', second)
    first.write_text('setting up\n' + CLASSIFICATION + '\n')
    board.refresh()
    line = '[demo] cls/teacher: epoch 1 iter 1/1 loss 1.378 ETA 0:00:00'
    assert terminal.getvalue() == '\r' + line
    board.refresh()  # nothing new: nothing written
    assert terminal.getvalue() == '\r' + line
    second.write_text(DETECTION + '\n')
    board.refresh()
    both = line + ' | det/teacher: epoch 1 iter 5/20 loss 1.796 ETA 0:00:10'
    assert terminal.getvalue() == '\r' + line + '\r' + both
    terminal.seek(0)
    terminal.truncate()
    board.message('[demo] cls/teacher: done in 1.5 min')
    # the status line is cleared, the message printed, the status line redrawn
    assert terminal.getvalue() == ('\r' + ' ' * len(both) + '\r'
                                   + '[demo] cls/teacher: done in 1.5 min\n' + '\r' + both)
    terminal.seek(0)
    terminal.truncate()
    board.forget('cls/teacher')
    rest = '[demo] det/teacher: epoch 1 iter 5/20 loss 1.796 ETA 0:00:10'
    assert terminal.getvalue() == '\r' + rest.ljust(len(both))


def test_terminal_status_line_fits_the_width(tmp_path, monkeypatch):
    monkeypatch.setenv('COLUMNS', '30')
    terminal = Terminal()
    board = _board(terminal)
    board.follow('cls/teacher', tmp_path / 'a.log')
    (tmp_path / 'a.log').write_text(CLASSIFICATION + '\n')
    board.refresh()
    assert terminal.getvalue() == '\r' + '[demo] cls/teacher: epoch 1 i'


def test_plain_lines_at_most_once_per_interval(tmp_path):
    stream, clock = io.StringIO(), Clock()
    board = _board(stream, clock, interval=60.0)
    log = tmp_path / 'a.log'
    board.follow('cls/teacher', log)
    board.refresh()
    assert stream.getvalue() == ''  # no status yet
    log.write_text(CLASSIFICATION + '\n')
    board.refresh()
    first = '[demo] cls/teacher: epoch 1 iter 1/1 loss 1.378 ETA 0:00:00\n'
    assert stream.getvalue() == first
    with log.open('a') as out:
        out.write(DISTILLATION + '\n')
    clock.now = 59.0
    board.refresh()
    assert stream.getvalue() == first  # within the interval
    clock.now = 60.0
    board.refresh()
    second = '[demo] cls/teacher: epoch 2 iter 4/10 loss 1.906 ETA 0:00:01\n'
    assert stream.getvalue() == first + second
    clock.now = 500.0
    board.refresh()  # unchanged: not repeated
    board.message('[demo] cls/teacher: done in 2.0 min')
    board.forget('cls/teacher')
    assert stream.getvalue() == first + second + '[demo] cls/teacher: done in 2.0 min\n'
    assert '\r' not in stream.getvalue()


def test_the_board_thread_refreshes_until_the_board_exits(tmp_path):
    stream = io.StringIO()
    log = tmp_path / 'a.log'
    with ProgressBoard('[demo]', stream=stream, poll_seconds=0.01) as board:
        board.follow('cls', log)
        log.write_text(CLASSIFICATION + '\n')
        for _ in range(3000):  # up to 30 s on a loaded machine; one poll is enough
            if stream.getvalue():
                break
            board.stopped.wait(0.01)
        assert board.thread.is_alive()
    assert not board.thread.is_alive()
    assert stream.getvalue() == '[demo] cls: epoch 1 iter 1/1 loss 1.378 ETA 0:00:00\n'
