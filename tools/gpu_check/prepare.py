"""Prepare the GPU check on a machine with PyPI access (no GPU needed): fill one
git-ignored folder with what the GPU host lacks, to be carried there.

* the wheels of the OpenMMLab stack and of their needs that the host's image does not
  have, for its Python (CPython 3.12, manylinux x86_64), without dependencies: the
  image's own numpy, scipy, matplotlib, opencv-python-headless, torch 2.11 ... are
  used (``HOST_LACKS``);
* mmcv 2.1.0's sdist (it has no wheels): the check builds it there if no carried mmcv
  wheel works;
* with ``--mmcv-wheel``: a wheel of mmcv 2.1.0 with its CUDA ops, built here for the
  host's torch (2.11.0+cu130, the same build as PyPI's torch 2.11.0) and Hopper GPUs
  (sm_90) only, its debug symbols stripped, so that the host needs no build. It needs
  nvcc 13.0 here (``CUDA_HOME``) and a Python 3.12 (``--python312``); it downloads
  torch and its CUDA libraries (about 4.7 GB in the build folder) and compiles 136
  files: long on a small machine (docs/gpu_check.md has the measured times).

Everything that travels to the device machine (the work tree and this folder) must
stay under 64 MiB: the sizes are printed and the script fails if they do not fit.

    python tools/gpu_check/prepare.py                    # wheels + sdist
    python tools/gpu_check/prepare.py --mmcv-wheel       # also the CUDA wheel
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import List, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))
from provide_mmcv import SDIST, build_env, cached_wheel, strip_wheel  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEFAULT_DEST = REPO / '.gpu_check' / 'wheels'
#: what travels to the device machine in one call: the work tree and carried paths
TRAVEL_LIMIT = 64 * 2**20
#: the host's interpreter and platform
PYTHON_VERSION = '3.12'
PLATFORMS = ('manylinux_2_28_x86_64', 'manylinux_2_27_x86_64', 'manylinux_2_24_x86_64',
             'manylinux_2_17_x86_64', 'manylinux2014_x86_64', 'manylinux1_x86_64')
#: the host's torch, against which a carried mmcv wheel is built
HOST_TORCH = 'torch==2.11.0'
MMCV = 'mmcv==2.1.0'
#: the project's stack and the needs of it that the host's image lacks (the image's
#: package list: /work/.library/device/KINDS.md of this workplace), pinned to the
#: versions resolved for it; setuptools < 81 for mmengine's pkg_resources
HOST_LACKS = (
    'mmengine==0.10.7', 'mmdet==3.3.0', 'mmpretrain==1.2.0', 'mmrazor==1.0.0',
    'pycocotools==2.0.11', 'shapely==2.2.0', 'addict==2.4.0', 'yapf==0.43.0',
    'platformdirs==4.14.9', 'termcolor==3.3.0', 'terminaltables==3.1.10',
    'mat4py==0.6.0', 'modelindex==0.0.2', 'model-index==0.1.11', 'ordered-set==4.1.0',
    'importlib-metadata==10.2.0', 'lazy-importer==0.1.0', 'setuptools==80.10.2',
)
DEVICE_CALL = ('run(command="bash tools/gpu_check/run_on_gpu_host.sh", '
               'carry=[".gpu_check/wheels"], timeout_s=600)')


def pip(*args: str, python: str = sys.executable, env=None) -> None:
    subprocess.run([python, '-m', 'pip', *args], check=True, env=env)


def download_wheels(dest: Path, requirements: Sequence[str] = HOST_LACKS) -> None:
    """The requirements' wheels for the host's Python and platform, no dependencies."""
    platforms = [arg for platform in PLATFORMS for arg in ('--platform', platform)]
    pip('download', '--no-deps', '--only-binary=:all:', '--python-version',
        PYTHON_VERSION, '--implementation', 'cp', *platforms, '-d', str(dest),
        *requirements)


def download_mmcv_sdist(dest: Path) -> None:
    """mmcv's sdist. pip prepares its metadata on download, and mmcv's setup.py
    imports pkg_resources, which the newest setuptools lacks: the build environment
    pip makes for it gets an older one."""
    with tempfile.NamedTemporaryFile('w', suffix='.txt') as constraint:
        constraint.write('setuptools<70\n')
        constraint.flush()
        pip('download', '--no-deps', '--no-binary=:all:', '-d', str(dest), MMCV,
            env={**os.environ, 'PIP_CONSTRAINT': constraint.name})


def build_mmcv_wheel(dest: Path, build_dir: Path, python312: str, arch: str,
                     jobs: int) -> Path:
    """mmcv's CUDA wheel for the host's torch, stripped, into ``dest``. The build is
    kept in ``build_dir`` per torch version and architecture and reused."""
    venv = build_dir / 'venv'
    python = str(venv / 'bin' / 'python')
    built = build_dir / f'built-{HOST_TORCH.replace("==", "")}-sm{arch.replace(".", "")}'
    if not Path(python).exists():
        subprocess.run([python312, '-m', 'venv', str(venv)], check=True)
    pip('install', '-q', 'wheel', python=python)  # strip_wheel repacks with it
    if cached_wheel(built) is None:
        pip('install', '-q', HOST_TORCH, 'ninja', 'setuptools<70', python=python)
        include = next((venv / 'lib').glob('python3.*/site-packages/nvidia/cu13/include'),
                       None)
        env = build_env(arch, jobs, python, extra_include=str(include) if include else None)
        subprocess.run(['nice', '-n', '19', python, '-m', 'pip', 'wheel',
                        '--no-build-isolation', '--no-deps', '--no-cache-dir', '-w',
                        str(built), str(dest / SDIST)], check=True, env=env)
    wheel = cached_wheel(built)
    if wheel is None:
        raise RuntimeError(f'pip wheel left no mmcv wheel in {built}')
    return strip_wheel(wheel, dest, python)


def work_tree_bytes(repo: Path = REPO) -> int:
    """What travels of the work tree: tracked and untracked files git does not
    ignore."""
    listed = subprocess.run(['git', 'ls-files', '-z', '-co', '--exclude-standard'],
                            cwd=repo, check=True, capture_output=True).stdout
    files = (repo / name for name in listed.decode().split('\0') if name)
    return sum(path.stat().st_size for path in files if path.is_file())


def folder_report(folder: Path, tree_bytes: int, limit: int = TRAVEL_LIMIT) -> List[str]:
    """Lines giving each file's size and the total against ``limit``; ValueError when
    the folder and the work tree together exceed it."""
    files = sorted((path for path in folder.iterdir() if path.is_file()),
                   key=lambda path: -path.stat().st_size)
    carried = sum(path.stat().st_size for path in files)
    lines = [f'{path.stat().st_size / 2**20:8.2f} MiB  {path.name}' for path in files]
    total = carried + tree_bytes
    lines.append(f'{carried / 2**20:8.2f} MiB  carried ({folder}), + '
                 f'{tree_bytes / 2**20:.2f} MiB work tree = {total / 2**20:.2f} MiB of '
                 f'{limit / 2**20:.0f} MiB')
    if total > limit:
        raise ValueError('\n'.join(lines) + f'\nover the {limit / 2**20:.0f} MiB that '
                         'travel to the device machine: carry less')
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--dest', type=Path, default=DEFAULT_DEST)
    parser.add_argument('--mmcv-wheel', action='store_true',
                        help='also build mmcv\'s CUDA wheel here (see above)')
    parser.add_argument('--build-dir', type=Path,
                        default=Path.home() / '.cache' / 'mmrazor_relkd' / 'gpu_check')
    parser.add_argument('--python312', default='python3.12')
    parser.add_argument('--arch', default='9.0', help='TORCH_CUDA_ARCH_LIST of the build')
    parser.add_argument('--jobs', type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    args.dest.mkdir(parents=True, exist_ok=True)
    kept = cached_wheel(args.dest) if not args.mmcv_wheel else None
    for old in [*args.dest.glob('*.whl'), *args.dest.glob('*.tar.gz')]:
        if old != kept:
            old.unlink()
    download_wheels(args.dest)
    download_mmcv_sdist(args.dest)
    if args.mmcv_wheel:
        build_mmcv_wheel(args.dest, args.build_dir, args.python312, args.arch, args.jobs)
    try:
        lines = folder_report(args.dest, work_tree_bytes())
    except ValueError as error:
        sys.exit(str(error))
    print('\n'.join(lines))
    print(f'\nOn the device machine: {DEVICE_CALL}')


if __name__ == '__main__':
    main()
