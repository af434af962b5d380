"""Trainings through ``tools/train.py`` in subprocesses, one torch thread each, so that
two started side by side keep both cores of a small machine busy."""
import os
import subprocess
import sys
from pathlib import Path
from typing import Tuple

REPO = Path(__file__).resolve().parents[1]
Started = Tuple[subprocess.Popen, Path]


def start_training(config: str, work_dir: Path, options: list, *extra: str,
                   pythonpath: str = '') -> Started:
    """Start ``tools/train.py config --work-dir work_dir *extra --cfg-options *options``
    single-threaded, its output to a file in ``work_dir``, with ``pythonpath`` prepended
    to ``PYTHONPATH``; :func:`finish_training` waits for it."""
    env = dict(os.environ, OMP_NUM_THREADS='1',
               PYTHONPATH=os.pathsep.join(p for p in (pythonpath,
                                                       os.environ.get('PYTHONPATH')) if p))
    work_dir.mkdir(parents=True, exist_ok=True)
    log = work_dir / f'output{len(list(work_dir.glob("output*.txt")))}.txt'
    with log.open('w') as stream:
        process = subprocess.Popen(
            [sys.executable, 'tools/train.py', config, '--work-dir', str(work_dir),
             *extra, '--cfg-options', *options], cwd=REPO, env=env, stdout=stream,
            stderr=subprocess.STDOUT)
    return process, log


def finish_training(started: Started) -> Tuple[int, str]:
    """The return code and the end of the output of a started training."""
    process, log = started
    process.wait(timeout=600)
    return process.returncode, log.read_text()[-5000:]
