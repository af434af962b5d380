"""mmrazor_relkd_import_hook.py and the ``.pth`` file that setup.py installs with it:
a fresh interpreter of this environment imports neither torch nor the plugin at
start-up, and imports the plugin (the torch >= 2 compatibility layer) as soon as
mmrazor is imported; a wheel built from setup.py carries both files at its root."""
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import mmrazor_relkd_import_hook
from mmrazor_relkd_import_hook import MmrazorImportHook

REPO = Path(__file__).resolve().parents[2]
HOOK = 'mmrazor_relkd_import_hook'

FRESH_INTERPRETER = '''
import json, sys
started_with = [m for m in ('mmrazor', 'mmrazor_relkd', 'torch') if m in sys.modules]
hooks = [type(f).__name__ for f in sys.meta_path
         if type(f).__name__ == 'MmrazorImportHook']
from mmrazor.utils import register_all_modules
register_all_modules(False)
import mmrazor
print(json.dumps(dict(started_with=started_with, hooks=hooks,
                      plugin='mmrazor_relkd' in sys.modules,
                      loader=type(mmrazor.__loader__).__name__)))
'''


def test_fresh_interpreter_imports_the_plugin_with_mmrazor_only():
    """mmrazor's ``register_all_modules`` (what mmrazor's tools/train.py calls first)
    works on torch >= 2; start-up imported nothing but the hook; mmrazor keeps its own
    loader."""
    result = subprocess.run([sys.executable, '-c', FRESH_INTERPRETER], cwd='/',
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-5000:]
    report = json.loads(result.stdout.splitlines()[-1])
    assert report == dict(started_with=[], hooks=['MmrazorImportHook'], plugin=True,
                          loader='SourceFileLoader')


def test_hook_stays_out_of_other_imports():
    assert MmrazorImportHook().find_spec('json', None) is None
    assert MmrazorImportHook().find_spec('mmrazor.models', None) is None


def test_install_puts_the_hook_first_once(monkeypatch):
    others = [f for f in sys.meta_path if not isinstance(f, MmrazorImportHook)]
    monkeypatch.setattr(sys, 'meta_path', list(others))
    mmrazor_relkd_import_hook.install()
    mmrazor_relkd_import_hook.install()
    assert isinstance(sys.meta_path[0], MmrazorImportHook)
    assert sys.meta_path[1:] == others


def test_wheel_holds_the_hook_and_its_pth_at_the_root(tmp_path):
    """``pip install .`` (a wheel) as well as ``pip install -e .`` (the first test)."""
    source = tmp_path / 'source'
    source.mkdir()
    for name in ('setup.py', 'README.md', f'{HOOK}.py'):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / 'mmrazor_relkd', source / 'mmrazor_relkd',
                    ignore=shutil.ignore_patterns('__pycache__'))
    result = subprocess.run(
        [sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation',
         '--no-index', '-w', str(tmp_path / 'dist'), str(source)],
        capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (wheel, ) = (tmp_path / 'dist').glob('mmrazor_relkd-*.whl')
    with zipfile.ZipFile(wheel) as archive:
        root = sorted(name for name in archive.namelist() if '/' not in name)
        pth = archive.read(f'{HOOK}.pth').decode()
    assert root == [f'{HOOK}.pth', f'{HOOK}.py']
    assert pth == f'import {HOOK}; {HOOK}.install()\n'
