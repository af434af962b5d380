"""The quantization shim: mmrazor imports on torch >= 2, quantization fails clearly."""
import subprocess
import sys
import textwrap

import pytest


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, '-c', textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=300)


def test_mmrazor_imports_after_plugin_in_fresh_interpreter():
    result = _run('''
        import mmrazor_relkd
        import mmrazor, mmrazor.models, mmrazor.engine
        from mmrazor.utils import register_all_modules
        register_all_modules()
        from mmrazor.registry import MODELS
        assert MODELS.get('SingleTeacherDistill') is not None
        assert MODELS.get('FpnTeacherDistill') is not None
        assert MODELS.get('ConfigurableDistiller') is not None
        print('ok')
    ''')
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith('ok')


def test_quantization_use_raises_clear_error():
    from mmrazor_relkd.compat import QuantizationUnavailable
    from mmrazor.structures.quantization import QConfigHandler
    with pytest.raises(QuantizationUnavailable, match=r'mmrazor 1\.0\.0 quantization .* torch'):
        QConfigHandler(dict(w_observer=dict(type='MinMaxObserver')))


def test_quantization_shim_is_a_noop_when_the_package_imports():
    """With a working quantization package in place, the shim installs nothing."""
    result = _run('''
        import sys, types
        import mmrazor
        sys.modules['mmrazor.structures.quantization'] = types.ModuleType(
            'mmrazor.structures.quantization')
        from mmrazor_relkd.compat.mmrazor_quantization import (
            _StubFinder, disable_broken_quantization)
        assert disable_broken_quantization() is False
        assert not any(isinstance(f, _StubFinder) for f in sys.meta_path)
        print('ok')
    ''')
    assert result.returncode == 0, result.stderr


def test_quantization_shim_is_idempotent():
    from mmrazor_relkd.compat import disable_broken_quantization
    assert disable_broken_quantization() is False
