"""The quantization shim: mmrazor imports on torch >= 2, quantization fails clearly."""
import subprocess
import sys
import textwrap


# Installing the package adds a start-up hook that imports the plugin right after
# mmrazor (mmrazor_relkd_import_hook.py); tests of mmrazor on its own take it out first.
_WITHOUT_IMPORT_HOOK = ("import sys; sys.meta_path[:] = [f for f in sys.meta_path "
                        "if type(f).__name__ != 'MmrazorImportHook']\n")


def _run(code: str, import_hook: bool = True) -> subprocess.CompletedProcess:
    code = textwrap.dedent(code)
    if not import_hook:
        code = _WITHOUT_IMPORT_HOOK + code
    return subprocess.run([sys.executable, '-c', code],
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
    ''', import_hook=False)
    assert result.returncode != 0
    assert '`torch>=1.13` is not installed properly' in result.stderr, result.stderr


def test_quantization_shim_is_a_noop_when_the_package_imports():
    """With a quantization package that imports, the plugin installs no stand-in."""
    result = _run('''
        import sys, types
        import mmrazor
        working = types.ModuleType('mmrazor.structures.quantization')

        def any_name(name):  # every name mmrazor imports from it exists
            if name.startswith('__'):
                raise AttributeError(name)
            return type(name, (), {})

        working.__getattr__ = any_name
        sys.modules['mmrazor.structures.quantization'] = working
        import mmrazor_relkd
        from mmrazor_relkd.compat import mmrazor_quantization as shim
        assert shim.disable_broken_quantization() is False
        assert not any(isinstance(f, shim._StubFinder) for f in sys.meta_path)
        assert sys.modules['mmrazor.structures.quantization'] is working
        print('ok')
    ''', import_hook=False)
    assert result.returncode == 0, result.stderr


def test_quantization_shim_is_idempotent():
    from mmrazor_relkd.compat import disable_broken_quantization
    assert disable_broken_quantization() is False
