"""mmrazor_relkd: relation- and kernel-based knowledge distillation for MMRazor.

``import mmrazor_relkd`` (or ``custom_imports=dict(imports=['mmrazor_relkd'])`` in a
config) is all that is needed: it makes mmrazor importable on torch >= 2, lets mmengine
checkpoints load under torch's ``weights_only=True`` default, and registers the
plugin's losses, hooks and backbones into the OpenMMLab registries.
"""
from .compat import apply_compat
from .version import __version__

apply_compat()

from . import datasets, engine, functional, models  # noqa: E402,F401 (registers)

__all__ = ['__version__', 'apply_compat']
