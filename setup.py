"""Install mmrazor_relkd: relation- and kernel-based distillation losses for MMRazor."""
import os
import re
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).parent
IMPORT_HOOK = 'mmrazor_relkd_import_hook'
VERSION = re.search(r"__version__ = '([^']+)'",
                    (HERE / 'mmrazor_relkd' / 'version.py').read_text()).group(1)


class BuildPyWithImportHook(build_py):
    """``build_py``, plus ``mmrazor_relkd_import_hook.pth`` at the root of the wheel (so
    of site-packages): at interpreter start-up it installs the hook that imports
    ``mmrazor_relkd`` (the torch >= 2 compatibility layer) whenever mmrazor is imported,
    by any script (see ``mmrazor_relkd_import_hook.py``)."""

    def run(self) -> None:
        super().run()
        # A wheel holds build_lib. An editable wheel (pip install -e) leaves build_lib
        # out; it holds the folder its `install` command installs the library into.
        root = (self.get_finalized_command('install').install_lib
                if getattr(self, 'editable_mode', False) else self.build_lib)
        self.mkpath(root)
        with open(os.path.join(root, f'{IMPORT_HOOK}.pth'), 'w', encoding='utf-8') as pth:
            pth.write(f'import {IMPORT_HOOK}; {IMPORT_HOOK}.install()\n')


setup(
    name='mmrazor_relkd',
    version=VERSION,
    description='Relation- and kernel-based knowledge distillation for MMRazor '
    '(PCKA, FCKA/LCKA, KDA, FKD, mAKD, GNoRP)',
    long_description=(HERE / 'README.md').read_text(encoding='utf-8'),
    long_description_content_type='text/markdown',
    packages=find_packages(include=['mmrazor_relkd', 'mmrazor_relkd.*']),
    py_modules=[IMPORT_HOOK],
    cmdclass={'build_py': BuildPyWithImportHook},
    include_package_data=True,
    python_requires='>=3.8',
    install_requires=[
        # the versions tools/compat_matrix.sh tested (README, "Tested versions")
        'torch>=2.1.2,<=2.15.0',
        'mmengine>=0.10.0,<0.11',
        'mmcv==2.1.0',
        'mmdet>=3.0.0,<4.0.0',
        'mmpretrain>=1.0.0,<2.0.0',
        'mmrazor==1.0.0',
        'pycocotools',
        'joblib',
        'matplotlib',
        # mmengine 0.10 resolves `pkg::` config paths with pkg_resources
        'setuptools<81',
    ],
    extras_require={'tests': ['pytest', 'pytest-timeout', 'pytest-random-order']},
    classifiers=[
        'Programming Language :: Python :: 3',
        'Topic :: Scientific/Engineering :: Artificial Intelligence',
    ],
    license='Apache-2.0',
)
