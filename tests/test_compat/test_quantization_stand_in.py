"""The quantization stand-in: every use raises QuantizationUnavailable with the real reason."""
import pytest

from mmrazor_relkd.compat import QuantizationUnavailable
from mmrazor_relkd.compat.quantization_source import exported_names, failed_torch_imports

REASON = r'removed torch APIs: cannot import name '
USES = ('subscript', 'attribute', 'class_attribute', 'call', 'construct', 'iterate',
        'length', 'contains', 'submodule')


def _uses():
    from mmrazor.structures import QConfigHandler
    from mmrazor.structures.quantization import (BackendConfigs,
                                                 get_native_backend_config)
    return dict(
        subscript=lambda: BackendConfigs['native'],
        attribute=lambda: BackendConfigs.get,
        class_attribute=lambda: QConfigHandler.replace_fakequant,
        call=lambda: get_native_backend_config(),
        construct=lambda: QConfigHandler(dict(w_observer=dict(type='MinMaxObserver'))),
        iterate=lambda: list(BackendConfigs),
        length=lambda: len(BackendConfigs),
        contains=lambda: 'native' in BackendConfigs,
        submodule=lambda: __import__(
            'mmrazor.structures.quantization.qconfig', fromlist=['x']).QSchemeHandler())


@pytest.mark.parametrize('use', USES)
def test_every_use_raises_with_the_removed_torch_apis(use):
    with pytest.raises(QuantizationUnavailable) as info:
        _uses()[use]()
    message = str(info.value)
    assert 'is unavailable: mmrazor 1.0.0 quantization does not work with torch' in message
    assert REASON in message and 'from \'torch.' in message
    assert 'is not installed properly' not in message


def test_structures_exports_the_quantization_names():
    import mmrazor.structures as structures
    import mmrazor.structures.quantization as quantization
    for name in ('BackendConfigs', 'QConfigHandler', 'QSchemeHandler',
                 'get_native_backend_config'):
        assert name in quantization.__all__
        assert getattr(structures, name) is getattr(quantization, name)
    assert not hasattr(structures, 'torch')  # imported names are not exported
    assert not hasattr(quantization.BackendConfigs, '__wrapped__')  # introspection works


def test_failed_torch_imports_are_python_messages(tmp_path):
    (tmp_path / 'sub').mkdir()
    (tmp_path / '__init__.py').write_text('import torch\nfrom torch import nn\n')
    (tmp_path / 'sub' / 'm.py').write_text(
        'try:\n    from torch.nn import no_such_layer_xyz, Linear\n'
        'except ImportError:\n    pass\nimport torch.no_such_module_xyz\n'
        'from . import anything\n')
    assert failed_torch_imports(str(tmp_path)) == [
        "cannot import name 'no_such_layer_xyz' from 'torch.nn'",
        "No module named 'torch.no_such_module_xyz'"]


def test_exported_names_follow_star_imports(tmp_path):
    (tmp_path / '__init__.py').write_text(
        'from .a import *\nfrom .b import *\nfrom .c import Named as Alias\n')
    (tmp_path / 'a.py').write_text("__all__ = ['Declared']\nclass Declared: pass\n"
                                   'class Other: pass\n')
    (tmp_path / 'b.py').write_text('import torch\nfrom typing import Dict\n'
                                   'CONSTANT = 1\n_private = 2\ndef function(): pass\n')
    (tmp_path / 'c.py').write_text('Named = 1\n')
    assert exported_names(str(tmp_path / '__init__.py')) == [
        'Declared', 'CONSTANT', 'function', 'Alias']
