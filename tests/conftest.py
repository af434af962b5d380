"""Test-suite setup: the plugin first (compat shims), helpers importable by name."""
import os
import sys

import pytest
import torch

import mmrazor_relkd  # noqa: F401  (must precede every mmrazor import)

sys.path.insert(0, os.path.dirname(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def single_thread():
    """Run a test on one torch thread: tiny ops run fastest and deterministically."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
