"""tools/dependency_warnings.py: the warnings hidden are exactly the listed ones, from
the listed modules; mmengine still raises them (else the filter is to be removed)."""
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parents[2] / 'tools'
sys.path.append(str(TOOLS))
from dependency_warnings import hide_dependency_warnings  # noqa: E402

PKG_RESOURCES = ('pkg_resources is deprecated as an API. See https://setuptools.pypa.io/'
                 'en/latest/pkg_resources.html. The pkg_resources package is slated for '
                 'removal as early as 2025-11-30. Refrain from using this package or pin '
                 'to Setuptools<81.')


def _shown(message: str, category: type, module: str) -> bool:
    """Whether a warning raised in ``module`` reaches the user once the dependency
    warnings are hidden (every other warning shown)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        hide_dependency_warnings()
        warnings.warn_explicit(message, category, f'{module}.py', 1, module=module)
    return len(caught) == 1


@pytest.mark.parametrize('module', ['mmengine.utils.package_utils', 'importlib'])
@pytest.mark.parametrize('category', [UserWarning, DeprecationWarning])
def test_the_pkg_resources_warning_of_mmengine_is_hidden(module, category):
    assert not _shown(PKG_RESOURCES, category, module)


@pytest.mark.parametrize('message,module', [
    (PKG_RESOURCES, 'my_plugin'),  # a user's own code: they can act on it
    (PKG_RESOURCES, 'importlib_metadata'),  # the module name matches as a whole
    (PKG_RESOURCES, 'mmengine.utils'),
    ('an unrelated warning', 'mmengine.utils.package_utils'),
    ('an unrelated warning', 'importlib'),
])
def test_other_warnings_still_show(message, module):
    assert _shown(message, UserWarning, module)


_RECORD = '''
import json, sys, warnings
sys.path.insert(0, {tools!r})
from dependency_warnings import hide_dependency_warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter('always')
    if {hide}:
        hide_dependency_warnings()
    from mmengine.utils import is_installed
    assert is_installed('mmdet')
    warnings.warn('an unrelated warning')
print(json.dumps([[w.category.__name__, str(w.message), w.filename] for w in caught]))
'''


def _warnings_of_a_package_lookup(hide: bool) -> list:
    """The warnings a fresh interpreter records when mmengine looks up a package (what
    a config with `mmdet::` paths or custom imports makes it do), plus one of its own."""
    out = subprocess.run([sys.executable, '-c', _RECORD.format(tools=str(TOOLS), hide=hide)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_mmengine_raises_the_hidden_warnings_and_the_filter_hides_only_them():
    shown = _warnings_of_a_package_lookup(hide=False)
    pkg = [(category, Path(filename).parts[-2:]) for category, message, filename in shown
           if message == PKG_RESOURCES]
    # the import in mmengine's package_utils, then importlib.reload
    assert pkg == [('UserWarning', ('utils', 'package_utils.py')),
                   ('UserWarning', ('importlib', '__init__.py'))]
    assert [m for _, m, _ in shown if m != PKG_RESOURCES] == ['an unrelated warning']
    hidden = _warnings_of_a_package_lookup(hide=True)
    assert [m for _, m, _ in hidden] == ['an unrelated warning']

