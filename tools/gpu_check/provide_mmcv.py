"""mmcv 2.1.0 with working CUDA ops on this GPU host, by the cheapest way that works:

1. the mmcv already importable (the carried wheel, installed by the ``install`` step);
2. else a wheel built by an earlier call on this machine (``--cache``: an ignored
   folder of the work tree, which a warm device machine keeps between calls);
3. else a wheel built here from the carried sdist (``pip wheel --no-build-isolation``,
   ``FORCE_CUDA=1``, ``TORCH_CUDA_ARCH_LIST`` of this GPU only, ``MAX_JOBS`` = cores),
   timed, stripped of its debug information, kept in ``--cache`` and copied to
   ``--copy-built-to`` (to be carried next time) when it is small enough to come back
   from the device machine.

"Works" is checked in a fresh interpreter: ``mmcv.ops`` imports and its CUDA NMS keeps
the expected boxes. Without ``--target`` it only checks.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
from local_wheels import install  # noqa: E402

SDIST = 'mmcv-2.1.0.tar.gz'
#: what comes back from the device machine, per file
RETURN_LIMIT = 16 * 2**20
CHECK = '''
import json, mmcv, torch
from mmcv.ops import get_compiling_cuda_version, nms
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]],
                     device='cuda')
_, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7], device='cuda'), 0.5)
assert keep.tolist() == [0, 2], keep.tolist()
print(json.dumps(dict(version=mmcv.__version__, cuda=get_compiling_cuda_version(),
                      file=mmcv.__file__)))
'''


def works() -> Optional[str]:
    """What the check printed when mmcv's CUDA NMS works, else None (the reason is
    printed)."""
    result = subprocess.run([sys.executable, '-c', CHECK], capture_output=True, text=True)
    if result.returncode == 0:
        return result.stdout.strip().splitlines()[-1]
    lines = result.stderr.strip().splitlines()
    print(f'mmcv check failed: {lines[-1] if lines else f"exit {result.returncode}"}',
          flush=True)
    return None


def cuda_home() -> str:
    """``$CUDA_HOME``, else ``/usr/local/cuda``, else the folder above ``nvcc``."""
    if os.environ.get('CUDA_HOME'):
        return os.environ['CUDA_HOME']
    if Path('/usr/local/cuda/bin/nvcc').exists():
        return '/usr/local/cuda'
    nvcc = shutil.which('nvcc')
    if nvcc is None:
        raise FileNotFoundError('no nvcc: set CUDA_HOME to a CUDA toolkit')
    return str(Path(nvcc).resolve().parent.parent)


def build_env(arch: str, jobs: int, python: str = sys.executable,
              extra_include: Optional[str] = None) -> Dict[str, str]:
    """The environment of mmcv's CUDA build: ops for ``arch`` (e.g. ``'9.0'``) only,
    ``jobs`` compilers at once, ninja from the interpreter's folder, and
    ``extra_include`` (the CUDA library headers of pip's nvidia packages) searched."""
    env = {**os.environ, 'FORCE_CUDA': '1', 'MMCV_WITH_OPS': '1',
           'TORCH_CUDA_ARCH_LIST': arch, 'MAX_JOBS': str(jobs), 'CUDA_HOME': cuda_home(),
           'PATH': os.pathsep.join([str(Path(python).parent), os.environ.get('PATH', '')])}
    if extra_include:
        env['CPATH'] = os.pathsep.join(filter(None, [extra_include, env.get('CPATH')]))
    return env


def build(sdist: Path, cache: Path) -> Path:
    """Build the CUDA wheel of ``sdist`` into ``cache`` for this GPU; its path."""
    import torch
    major, minor = torch.cuda.get_device_capability()
    nvidia = Path(torch.__file__).parent.parent / 'nvidia'
    include = next((str(d) for d in sorted(nvidia.glob('*/include'))
                    if (d / 'cublas_v2.h').exists()), None)
    jobs = os.cpu_count() or 1
    cache.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-build-isolation',
                    '--no-deps', '--no-index', '--no-cache-dir', '-w', str(cache),
                    str(sdist)], check=True,
                   env=build_env(f'{major}.{minor}', jobs, extra_include=include))
    print(f'built mmcv from {sdist.name} in {time.monotonic() - start:.0f} s '
          f'(MAX_JOBS={jobs}, sm_{major}{minor} only)', flush=True)
    wheel = cached_wheel(cache)
    if wheel is None:
        raise RuntimeError(f'pip wheel left no mmcv wheel in {cache}')
    try:
        return strip_wheel(wheel, cache)
    except (OSError, subprocess.CalledProcessError) as error:
        print(f'{wheel.name} keeps its debug information: stripping failed ({error})',
              flush=True)
        return wheel


def strip_wheel(wheel: Path, dest: Path, python: str = sys.executable) -> Path:
    """``wheel`` with the debug information of its shared libraries removed (mmcv's
    build compiles with ``-g``: 36 MiB instead of 6), repacked into ``dest`` (its own
    folder too) with ``python``'s ``wheel`` package."""
    dest.mkdir(parents=True, exist_ok=True)
    unpacked = Path(tempfile.mkdtemp(prefix='strip-wheel-'))
    try:
        subprocess.run([python, '-m', 'wheel', 'unpack', '-d', str(unpacked), str(wheel)],
                       check=True, stdout=subprocess.DEVNULL)
        for library in unpacked.rglob('*.so'):
            subprocess.run(['strip', '--strip-debug', str(library)], check=True)
        subprocess.run([python, '-m', 'wheel', 'pack', '-d', str(dest),
                        str(next(unpacked.iterdir()))], check=True, stdout=subprocess.DEVNULL)
    finally:
        shutil.rmtree(unpacked)
    return dest / wheel.name


def cached_wheel(cache: Path) -> Optional[Path]:
    """The mmcv wheel in ``cache``, if any."""
    wheels = sorted(cache.glob('mmcv-2.1.0-*.whl')) if cache.is_dir() else []
    return wheels[-1] if wheels else None


def provide(target: Path, wheels: Path, cache: Path, copy_to: Optional[Path],
            check: Callable[[], Optional[str]] = works,
            build_wheel: Callable[[Path, Path], Path] = build) -> str:
    """Make mmcv's CUDA ops work (module docstring); a line that says how, or
    RuntimeError."""
    found = check()
    if found:
        return f'mmcv works as installed: {found}'
    if cached_wheel(cache) is not None:
        install(cache, target)
        found = check()
        if found:
            return f'mmcv from the wheel built earlier on this machine: {found}'
    sdist = wheels / SDIST
    if not sdist.exists():
        raise RuntimeError(f'mmcv does not work and there is no {sdist} to build it from')
    for stale in cache.glob('mmcv-*.whl'):
        stale.unlink()
    wheel = build_wheel(sdist, cache)
    install(cache, target)
    found = check()
    if not found:
        raise RuntimeError(f'mmcv built from {sdist} ({wheel.name}) does not work either')
    copied = ''
    if copy_to is not None and wheel.stat().st_size <= RETURN_LIMIT:
        copy_to.mkdir(parents=True, exist_ok=True)
        shutil.copy(wheel, copy_to)
        copied = f'; {wheel.name} copied to {copy_to}: carry it next time'
    return f'mmcv built here from the sdist: {found}{copied}'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--target', type=Path, help='the install target of the wheels '
                        '(without it: only check)')
    parser.add_argument('--wheels', type=Path, help='the carried folder (the sdist)')
    parser.add_argument('--cache', type=Path, help='where a wheel built here is kept')
    parser.add_argument('--copy-built-to', type=Path)
    args = parser.parse_args()
    if args.target is not None and (args.wheels is None or args.cache is None):
        parser.error('--target needs --wheels and --cache')
    if args.target is None:
        found = works()
        if not found:
            sys.exit('mmcv\'s CUDA ops do not work in this environment')
        print(f'mmcv works: {found}')
        return
    print(provide(args.target, args.wheels, args.cache, args.copy_built_to), flush=True)


if __name__ == '__main__':
    main()
