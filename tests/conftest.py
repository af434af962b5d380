"""Test-suite setup: the plugin first (compat shims), helpers importable by name."""
import os
import sys

import mmrazor_relkd  # noqa: F401  (must precede every mmrazor import)

sys.path.insert(0, os.path.dirname(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
