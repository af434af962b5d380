"""Install every wheel of a local folder into a target folder, with no network and no
dependency resolution (the folder holds exactly what the host lacks: see prepare.py).
The target then goes first on ``PYTHONPATH``.

    python3 tools/gpu_check/local_wheels.py --wheels .gpu_check/wheels --target /tmp/site
"""
import argparse
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import List


def wheels_to_install(folder: Path) -> List[Path]:
    """The folder's wheels; an error naming the problem when there are none, or when
    one distribution comes in two files (pip would refuse the whole install)."""
    if not folder.is_dir():
        raise FileNotFoundError(f'{folder} does not exist: fill it with '
                                'tools/gpu_check/prepare.py and carry it')
    wheels = sorted(folder.glob('*.whl'))
    if not wheels:
        raise FileNotFoundError(f'no *.whl in {folder}: fill it with '
                                'tools/gpu_check/prepare.py')
    by_name = defaultdict(list)
    for wheel in wheels:
        by_name[wheel.name.split('-')[0].lower().replace('.', '_')].append(wheel.name)
    twice = {name: files for name, files in by_name.items() if len(files) > 1}
    if twice:
        raise ValueError(f'{folder} holds several wheels of one distribution: {twice}; '
                         'keep one of each (prepare.py empties the folder first)')
    return wheels


def install_command(folder: Path, target: Path, python: str = sys.executable) -> List[str]:
    """pip's command that installs the folder's wheels into ``target``."""
    return [python, '-m', 'pip', 'install', '--no-index', '--no-deps', '--no-compile',
            '--no-cache-dir', '--upgrade', '--disable-pip-version-check', '--target',
            str(target), *map(str, wheels_to_install(folder))]


def install(folder: Path, target: Path, python: str = sys.executable) -> None:
    """Install the folder's wheels into ``target`` (raises when pip fails)."""
    target.mkdir(parents=True, exist_ok=True)
    subprocess.run(install_command(folder, target, python), check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--wheels', type=Path, required=True)
    parser.add_argument('--target', type=Path, required=True)
    args = parser.parse_args()
    install(args.wheels, args.target)
    names = ', '.join(wheel.name.split('-')[0] for wheel in wheels_to_install(args.wheels))
    print(f'installed into {args.target}: {names}')


if __name__ == '__main__':
    main()
