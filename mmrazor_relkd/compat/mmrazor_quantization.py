"""Make ``import mmrazor`` work on torch >= 2 by disabling its quantization package.

mmrazor 1.0.0's ``mmrazor.structures.quantization`` uses torch APIs that torch 2.x
removed, and ``mmrazor.structures`` imports it eagerly, so ``import mmrazor.models``
fails although distillation never touches quantization. When (and only when) the real
package fails to import, this module puts a stand-in package in its place. Importing
names from it (or, through its star import, from ``mmrazor.structures``) succeeds, and
*using* any of them (calling it, subscripting it as in ``BackendConfigs['native']``,
iterating over it, reading an attribute) raises :class:`QuantizationUnavailable`. Its
message gives the real reason: the ``ImportError`` of each torch import of the package
that fails (:mod:`.quantization_source`), not mmrazor's own "torch>=1.13 is not
installed properly". Site-packages are left untouched.
"""
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import types
from typing import Any, Iterator, List, NoReturn, Optional, Sequence

from .quantization_source import exported_names, failed_torch_imports

QUANTIZATION_PACKAGE = 'mmrazor.structures.quantization'


class QuantizationUnavailable(ImportError):
    """Raised when mmrazor's quantization is used where it cannot work."""


def unavailable_message(name: str, reason: str) -> str:
    """The message of :class:`QuantizationUnavailable` for the stand-in ``name``."""
    import torch
    return (f'{name} is unavailable: mmrazor 1.0.0 quantization does not work with '
            f'torch {torch.__version__} ({reason}). mmrazor_relkd replaced it with a '
            'stand-in so that distillation, which does not use it, can import mmrazor. '
            'For quantization use torch 1.13 with mmrazor 1.0.0.')


class _UnavailableMeta(type):
    """Every use of a stand-in class raises; dunder lookups stay ordinary (AttributeError)
    so that introspection (``hasattr(x, '__wrapped__')``, typing) keeps working."""

    _name: str
    _reason: str

    def _raise(cls) -> NoReturn:
        raise QuantizationUnavailable(unavailable_message(cls._name, cls._reason))

    def __call__(cls, *args: Any, **kwargs: Any) -> NoReturn:
        cls._raise()

    def __getitem__(cls, key: Any) -> NoReturn:
        cls._raise()

    def __iter__(cls) -> Iterator:
        cls._raise()

    def __len__(cls) -> int:
        cls._raise()

    def __contains__(cls, item: Any) -> bool:
        cls._raise()

    def __bool__(cls) -> bool:
        return True

    def __getattr__(cls, attr: str) -> NoReturn:
        if attr.startswith('__'):
            raise AttributeError(attr)
        cls._raise()


def placeholder(name: str, reason: str) -> type:
    """The stand-in for ``name`` (``'package.Name'``) of the quantization package."""
    module, _, short = name.rpartition('.')
    return _UnavailableMeta(short, (), dict(_name=name, _reason=reason, __module__=module))


class _StubPackage(types.ModuleType):

    def __init__(self, name: str, reason: str, exports: List[str]) -> None:
        super().__init__(name, unavailable_message(name, reason))
        self.__path__: list = []
        self.__all__ = exports
        self._reason = reason

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith('__'):
            raise AttributeError(attr)
        value = placeholder(f'{self.__name__}.{attr}', self._reason)
        setattr(self, attr, value)
        return value


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the stand-in for the quantization package and all its submodules."""

    def __init__(self, reason: str, exports: List[str]) -> None:
        self.reason = reason
        self.exports = exports

    def find_spec(self, fullname: str, path: Optional[Sequence[str]],
                  target: Optional[types.ModuleType] = None
                  ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname == QUANTIZATION_PACKAGE or fullname.startswith(
                QUANTIZATION_PACKAGE + '.'):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        exports = self.exports if spec.name == QUANTIZATION_PACKAGE else []
        return _StubPackage(spec.name, self.reason, exports)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__path__ = []


def _package_dir() -> str:
    spec = importlib.util.find_spec('mmrazor.structures')
    return os.path.join(list(spec.submodule_search_locations)[0], 'quantization')


def _reason(error: Exception, package_dir: str) -> str:
    """The torch imports that fail, or the error itself where none does."""
    failed = failed_torch_imports(package_dir)
    if failed:
        return 'removed torch APIs: ' + '; '.join(failed)
    return f'{type(error).__name__}: {error}'


def disable_broken_quantization() -> bool:
    """Stub mmrazor's quantization package if it fails to import.

    Returns:
        True if the stand-in was installed, False if it was not needed (the real
        package imports, mmrazor is absent, or the stand-in is already there).
    """
    if any(isinstance(f, _StubFinder) for f in sys.meta_path):
        return False
    if importlib.util.find_spec('mmrazor') is None:
        return False
    try:
        importlib.import_module(QUANTIZATION_PACKAGE)
        return False
    except Exception as err:  # noqa: BLE001  the removed torch APIs fail in many ways
        error = err
    package_dir = _package_dir()
    exports = exported_names(os.path.join(package_dir, '__init__.py'))
    for name in [m for m in sys.modules if m.startswith('mmrazor.structures')]:
        del sys.modules[name]
    sys.meta_path.insert(0, _StubFinder(_reason(error, package_dir), exports))
    return True
