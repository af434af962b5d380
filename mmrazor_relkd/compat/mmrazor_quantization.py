"""Make ``import mmrazor`` work on torch >= 2 by disabling its quantization package.

mmrazor 1.0.0's ``mmrazor.structures.quantization`` uses torch APIs that torch 2.x
removed, and ``mmrazor.structures`` imports it eagerly, so ``import mmrazor.models``
fails although distillation never touches quantization. When (and only when) the real
package fails to import, this module puts a stand-in package in its place: importing
names from it succeeds, and *using* any of them raises :class:`QuantizationUnavailable`
with the reason. Site-packages are left untouched.
"""
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from typing import Any, Optional, Sequence

QUANTIZATION_PACKAGE = 'mmrazor.structures.quantization'


class QuantizationUnavailable(ImportError):
    """Raised when mmrazor's quantization is used where it cannot work."""


def _message(name: str, reason: str) -> str:
    import torch
    return (f'{name} is unavailable: mmrazor 1.0.0 quantization does not work with '
            f'torch {torch.__version__} ({reason}); mmrazor_relkd disabled it so that '
            'distillation (which does not need it) can import mmrazor. Use torch 1.13 '
            'with mmrazor 1.0.0 for quantization.')


class _Unavailable:
    """Stand-in for any name of the quantization package: raises when used."""

    _name = ''
    _reason = ''

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise QuantizationUnavailable(_message(self._name, self._reason))


def _placeholder(name: str, reason: str) -> type:
    return type(name.rsplit('.', 1)[-1], (_Unavailable, ),
                dict(_name=name, _reason=reason, __module__=name.rsplit('.', 1)[0]))


class _StubPackage(types.ModuleType):

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(name, _message(name, reason))
        self.__path__: list = []
        self.__all__: list = []
        self._reason = reason

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith('__'):
            raise AttributeError(attr)
        value = _placeholder(f'{self.__name__}.{attr}', self._reason)
        setattr(self, attr, value)
        return value


class _StubFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves the stand-in for the quantization package and all its submodules."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def find_spec(self, fullname: str, path: Optional[Sequence[str]],
                  target: Optional[types.ModuleType] = None
                  ) -> Optional[importlib.machinery.ModuleSpec]:
        if fullname == QUANTIZATION_PACKAGE or fullname.startswith(
                QUANTIZATION_PACKAGE + '.'):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        return _StubPackage(spec.name, self.reason)

    def exec_module(self, module: types.ModuleType) -> None:
        module.__path__ = []


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
        reason = f'{type(err).__name__}: {err}'
    for name in [m for m in sys.modules if m.startswith('mmrazor.structures')]:
        del sys.modules[name]
    sys.meta_path.insert(0, _StubFinder(reason))
    return True
