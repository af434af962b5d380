"""Import ``mmrazor_relkd`` right after ``mmrazor``, whichever script imports mmrazor.

mmrazor 1.0.0 cannot be used on torch >= 2 until ``import mmrazor_relkd`` has applied
the compatibility layer (:func:`mmrazor_relkd.compat.apply_compat`; without it,
mmrazor's ``register_all_modules`` stops with ``ImportError: torch>=1.13 is not
installed properly``). This project's tools import it first and its configs list it in
``custom_imports``, but a script that imports mmrazor before it reads a config, as
mmrazor's own ``tools/train.py`` does, would never get that far.

Installing the package puts ``mmrazor_relkd_import_hook.pth`` into site-packages
(``setup.py``); Python runs it at start-up, and it calls :func:`install`. That adds a
finder to ``sys.meta_path`` whose only effect is on ``import mmrazor``: once mmrazor's
own ``__init__`` has run, it imports ``mmrazor_relkd``. Start-up imports nothing else
(no torch), and programs that never import mmrazor are untouched. Standard library
only: this module is imported before any other site-packages module is importable.
"""
import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from typing import Any, Optional, Sequence

TARGET = 'mmrazor'
PLUGIN = 'mmrazor_relkd'


class _ThenImportPlugin(importlib.abc.Loader):
    """mmrazor's own loader, then ``import mmrazor_relkd``; every other attribute is
    the wrapped loader's (resource readers, ``is_package``, ...)."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)

    def create_module(self, spec: importlib.machinery.ModuleSpec
                      ) -> Optional[types.ModuleType]:
        return self.loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__loader__ = module.__spec__.loader = self.loader  # mmrazor's, once loaded
        self.loader.exec_module(module)
        importlib.import_module(PLUGIN)


class MmrazorImportHook(importlib.abc.MetaPathFinder):
    """Finds ``mmrazor`` with the other finders and has ``mmrazor_relkd`` imported after
    it is executed; stays out of every other import."""

    def find_spec(self, fullname: str, path: Optional[Sequence[str]],
                  target: Optional[types.ModuleType] = None
                  ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname != TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _ThenImportPlugin(spec.loader)
                return spec
        return None


def install() -> None:
    """Put the hook first in ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, MmrazorImportHook) for finder in sys.meta_path):
        sys.meta_path.insert(0, MmrazorImportHook())
