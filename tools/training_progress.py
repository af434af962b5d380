"""Live progress of trainings that run as subprocesses (tools/run_demo.py,
tools/analysis/compare_methods.py): the epoch, iteration, latest loss and ETA that
mmengine's logger writes into each training's output, read as the file grows.

mmengine logs a training line every ``default_hooks.logger.interval`` iterations::

    ... - INFO - Epoch(train) [1][ 50/384]  lr: 1.0e-01  eta: 0:04:10  ...  loss: 1.2345

(``Iter(train) [ 50/1000]`` for iteration-based loops). The ETA is mmengine's own (the
whole training's remaining time); nothing is timed here. :class:`ProgressBoard` shows
the trainings that run now in one line: rewritten in place (``\\r``) on a terminal,
otherwise printed as a plain line when it changed, at most once every ``interval``
seconds.
"""
import re
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional, TextIO

TRAIN_LINE = re.compile(
    r'(?:Epoch\(train\)\s*\[(?P<epoch>\d+)\]|Iter\(train\))\s*'
    r'\[\s*(?P<iteration>\d+)/(?P<iterations>\d+)\](?P<fields>.*)')
ETA_FIELD = re.compile(r'(?:^|\s)eta: (?P<eta>[^\s]+(?: days?, [^\s]+)?)')
LOSS_FIELD = re.compile(r'(?:^|\s)loss: (?P<loss>[-+0-9.eEnaifNAIF]+)')


class TrainingStatus(NamedTuple):
    """What one mmengine training line says. ``epoch`` is None for an iteration-based
    loop, whose ``iteration`` / ``iterations`` count the whole training (an epoch's
    otherwise)."""
    epoch: Optional[int]
    iteration: int
    iterations: int
    eta: Optional[str]
    loss: Optional[float]


def parse_training_line(line: str) -> Optional[TrainingStatus]:
    """The status in one of mmengine's training log lines; None for any other line
    (validation, test, warnings, ...)."""
    match = TRAIN_LINE.search(line)
    if match is None:
        return None
    fields = match['fields']
    eta = ETA_FIELD.search(fields)
    loss = LOSS_FIELD.search(fields)
    return TrainingStatus(
        epoch=int(match['epoch']) if match['epoch'] is not None else None,
        iteration=int(match['iteration']), iterations=int(match['iterations']),
        eta=eta['eta'] if eta else None, loss=float(loss['loss']) if loss else None)


def describe(status: TrainingStatus) -> str:
    """``epoch 2 iter 50/384 loss 1.2345 ETA 0:04:10`` (the parts the line had)."""
    parts = [] if status.epoch is None else [f'epoch {status.epoch}']
    parts.append(f'iter {status.iteration}/{status.iterations}')
    if status.loss is not None:
        parts.append(f'loss {status.loss:.4g}')
    if status.eta is not None:
        parts.append(f'ETA {status.eta}')
    return ' '.join(parts)


class LogFollower:
    """Reads the lines appended to a file since the follower was made (a file that
    does not exist yet counts as empty; a line still being written waits for its end)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = path.stat().st_size if path.exists() else 0
        self.partial = b''

    def new_lines(self) -> List[str]:
        try:
            with self.path.open('rb') as log:
                log.seek(self.offset)
                data = log.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        *lines, self.partial = (self.partial + data).split(b'\n')
        return [line.decode('utf-8', 'replace') for line in lines]


class ProgressBoard:
    """The status of the trainings that run now, each read from its output file.

    ``follow(name, log)`` when a training starts (after its output file was opened),
    ``forget(name)`` when it ends; ``message(text)`` prints a line of the tool without
    breaking the status line. As a context manager, a thread calls :meth:`refresh`
    every ``poll_seconds``. On a terminal the status line is rewritten in place; on
    anything else it is printed when it changed, at most once every ``interval``
    seconds.
    """

    def __init__(self, prefix: str, stream: Optional[TextIO] = None,
                 interval: float = 60.0, poll_seconds: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.prefix = prefix
        self.stream = stream if stream is not None else sys.stdout
        self.tty = self.stream.isatty()
        self.interval = interval
        self.poll_seconds = poll_seconds
        self.clock = clock
        self.followers: Dict[str, LogFollower] = {}
        self.statuses: Dict[str, TrainingStatus] = {}
        self.shown = ''  # the status line on the terminal now ('' when none)
        self.printed = ''  # the status line printed last (not a terminal)
        self.printed_at: Optional[float] = None
        self.lock = threading.RLock()
        self.stopped = threading.Event()
        self.thread: Optional[threading.Thread] = None

    def follow(self, name: str, log: Path) -> None:
        with self.lock:
            self.followers[name] = LogFollower(log)

    def forget(self, name: str) -> None:
        with self.lock:
            self.followers.pop(name, None)
            self.statuses.pop(name, None)
            self._show(self.status_line())

    def message(self, text: str) -> None:
        """Print ``text`` as its own line, the status line redrawn below it."""
        with self.lock:
            line = self.shown
            self._show('')
            self.stream.write(text + '\n')
            self.stream.flush()
            self._show(line)

    def status_line(self) -> str:
        """``PREFIX name: status | name: status`` of the trainings with a status."""
        if not self.statuses:
            return ''
        return self.prefix + ' ' + ' | '.join(
            f'{name}: {describe(status)}' for name, status in self.statuses.items())

    def refresh(self) -> None:
        """Read what the followed outputs gained and show the status line."""
        with self.lock:
            for name, follower in self.followers.items():
                for line in follower.new_lines():
                    status = parse_training_line(line)
                    if status is not None:
                        self.statuses[name] = status
            line = self.status_line()
            if self.tty:
                self._show(line)
            elif line and line != self.printed and (
                    self.printed_at is None
                    or self.clock() - self.printed_at >= self.interval):
                self.stream.write(line + '\n')
                self.stream.flush()
                self.printed, self.printed_at = line, self.clock()

    def _show(self, line: str) -> None:
        """Replace the terminal's status line by ``line`` (cut to the terminal's
        width); nothing on other streams."""
        if not self.tty:
            return
        line = line[:shutil.get_terminal_size().columns - 1]
        if line == self.shown:
            return
        self.stream.write('\r' + line.ljust(len(self.shown)) + ('\r' if not line else ''))
        self.stream.flush()
        self.shown = line

    def __enter__(self) -> 'ProgressBoard':
        self.stopped.clear()
        self.thread = threading.Thread(target=self._poll, name='progress', daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopped.set()
        if self.thread is not None:
            self.thread.join()
        with self.lock:
            self._show('')

    def _poll(self) -> None:
        while not self.stopped.wait(self.poll_seconds):
            self.refresh()
