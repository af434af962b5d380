"""The warnings our dependencies raise on every run that a user can do nothing about,
and the one function that hides them in the tools (train.py, test.py, run_demo.py,
analysis/compare_methods.py).

Each is matched by its message and by the module that raises it, so the same message
from other code (a user's own config or plugin) and every other warning still show.
"""
import warnings
from typing import NamedTuple, Type


class DependencyWarning(NamedTuple):
    """A warning to hide: ``message`` matches the start of its text, ``module`` the
    whole name of the module it is attributed to (both regular expressions), and its
    class is ``category`` or a subclass."""
    message: str
    module: str
    category: Type[Warning]


DEPENDENCY_WARNINGS = (
    # mmengine 0.10 finds packages (`mmdet::` config paths, custom imports) with
    # pkg_resources: it imports it (the warning names mmengine.utils.package_utils) and
    # reloads it on every lookup (the warning names importlib). setuptools 80 warns
    # with a UserWarning (shown by default), older ones (< 70 is installed for
    # torch < 2.2) with a DeprecationWarning.
    DependencyWarning(r'pkg_resources is deprecated as an API',
                      r'mmengine\.utils\.package_utils|importlib', Warning),
)


def hide_dependency_warnings() -> None:
    """Ignore :data:`DEPENDENCY_WARNINGS` from now on in this process: the tools call
    it first in ``main()``, before any config is read."""
    for warning in DEPENDENCY_WARNINGS:
        warnings.filterwarnings('ignore', message=warning.message,
                                category=warning.category,
                                module=f'(?:{warning.module})\\Z')
