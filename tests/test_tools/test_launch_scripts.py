"""tools/dist_train.sh, dist_test.sh and slurm_train.sh pick their interpreter:
``$PYTHON`` if set, else the repository's ``.venv/bin/python`` if it exists, else
``python`` from ``PATH``.

The scripts are copied into a scratch repository whose interpreters (and ``srun``) are
stubs that print how they were called, so nothing is launched.
"""
import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

import pytest

REPO = Path(__file__).resolve().parents[2]
STUB = '#!/bin/sh\necho "interpreter=$0"\necho "args=$*"\n'
SRUN_STUB = '#!/bin/sh\necho "srun=$*"\n'

# script -> (positional arguments, the word after the interpreter)
SCRIPTS = {
    'dist_train.sh': (['cfg.py', '2'], '-m'),
    'dist_test.sh': (['cfg.py', 'ckpt.pth', '2'], '-m'),
    'slurm_train.sh': (['partition', 'job', 'cfg.py', 'work_dir'], '-u'),
}


def _stub(path: Path, text: str = STUB) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def scratch(tmp_path) -> Dict[str, Path]:
    """A copy of the three scripts in ``repo/tools`` and a ``bin`` folder for PATH with
    a stub ``python`` and ``srun``."""
    tools = tmp_path / 'repo' / 'tools'
    tools.mkdir(parents=True)
    for name in SCRIPTS:
        shutil.copy(REPO / 'tools' / name, tools / name)
    bin_dir = tmp_path / 'bin'
    _stub(bin_dir / 'python')
    _stub(bin_dir / 'srun', SRUN_STUB)
    return dict(repo=tmp_path / 'repo', bin=bin_dir)


def _interpreter(scratch: Dict[str, Path], script: str,
                 python: Optional[str]) -> Path:
    """The interpreter the script ran (for slurm: the one srun was told to run)."""
    args, next_word = SCRIPTS[script]
    env = {key: value for key, value in os.environ.items() if key != 'PYTHON'}
    env['PATH'] = f"{scratch['bin']}{os.pathsep}{env.get('PATH', '')}"
    if python is not None:
        env['PYTHON'] = python
    result = subprocess.run(['bash', str(scratch['repo'] / 'tools' / script), *args],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    if script == 'slurm_train.sh':
        (line, ) = [line for line in lines if line.startswith('srun=')]
        words: List[str] = line.split()
        return Path(words[words.index(next_word) - 1])
    assert f'args={next_word}' in result.stdout
    (line, ) = [line for line in lines if line.startswith('interpreter=')]
    return Path(line.split('=', 1)[1])


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_python_from_the_environment_wins(scratch, tmp_path, script):
    _stub(scratch['repo'] / '.venv' / 'bin' / 'python')
    chosen = _stub(tmp_path / 'elsewhere' / 'python3.11')
    assert _interpreter(scratch, script, str(chosen)) == chosen


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_the_repository_venv_comes_next(scratch, script):
    venv_python = _stub(scratch['repo'] / '.venv' / 'bin' / 'python')
    assert _interpreter(scratch, script, None).resolve() == venv_python.resolve()


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_python_from_path_without_a_venv(scratch, script):
    # srun receives the bare name; bash resolves it through PATH to the stub
    expected = Path('python') if script == 'slurm_train.sh' else scratch['bin'] / 'python'
    assert _interpreter(scratch, script, None) == expected


@pytest.mark.parametrize('script', sorted(SCRIPTS))
def test_missing_arguments_print_the_usage(scratch, script):
    result = subprocess.run(['bash', str(scratch['repo'] / 'tools' / script)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.startswith('usage: [PYTHON=...]')
