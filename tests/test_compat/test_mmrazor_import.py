"""The quantization shim: mmrazor imports on torch >= 2, quantization fails clearly."""
import subprocess
import sys
import textwrap

import pytest

from mmrazor_relkd.compat import mmrazor_quantization

SHIM_FILE = mmrazor_quantization.__file__


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


def test_mmrazor_models_fail_without_the_shim():
    """The shim is needed here: without it mmrazor.models does not import."""
    result = _run('''
        import mmrazor.models
    ''')
    assert result.returncode != 0


def test_quantization_use_raises_clear_error():
    from mmrazor_relkd.compat import QuantizationUnavailable
    from mmrazor.structures.quantization import QConfigHandler
    with pytest.raises(QuantizationUnavailable, match=r'mmrazor 1\.0\.0 quantization .* torch'):
        QConfigHandler(dict(w_observer=dict(type='MinMaxObserver')))


def test_quantization_shim_is_a_noop_when_the_package_imports():
    """With a working quantization package in place, the shim installs nothing."""
    result = _run('''
        import importlib.util, sys, types
        import mmrazor
        sys.modules['mmrazor.structures.quantization'] = types.ModuleType(
            'mmrazor.structures.quantization')
        # the shim's own file, without the package __init__ (which applies it)
        spec = importlib.util.spec_from_file_location('shim', %r)
        shim = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(shim)
        assert shim.disable_broken_quantization() is False
        assert not any(isinstance(f, shim._StubFinder) for f in sys.meta_path)
        print('ok')
    ''' % SHIM_FILE)
    assert result.returncode == 0, result.stderr


def test_quantization_shim_is_idempotent():
    from mmrazor_relkd.compat import disable_broken_quantization
    assert disable_broken_quantization() is False
