"""Test-suite setup: the plugin first (compat shims), helpers importable by name, and
mmengine's default registry scope isolated between tests."""
import os
import sys
from collections import OrderedDict

import pytest
import torch

import mmrazor_relkd  # noqa: F401  (must precede every mmrazor import)
from mmengine.registry import DefaultScope

sys.path.insert(0, os.path.dirname(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _restoring_default_scope():
    """Snapshot mmengine's default scopes and restore them afterwards.

    ``DefaultScope`` is a ``ManagerMixin``: its instances live in the class attribute
    ``_instance_dict`` (name -> instance) and the current scope is the last one created.
    A ``Runner`` or ``init_default_scope('mmpretrain')`` adds one and never removes it,
    so without this a later test would build its models in that scope
    (``KeyError: 'FKDLoss is not in the mmpretrain::model registry'``).
    """
    saved = OrderedDict(DefaultScope._instance_dict)
    yield
    DefaultScope._instance_dict = OrderedDict(saved)


@pytest.fixture(autouse=True, scope='module')
def _module_default_scope():
    """What a module-scoped fixture (e.g. a trained runner) sets ends with its module."""
    yield from _restoring_default_scope()


@pytest.fixture(autouse=True)
def _test_default_scope():
    """What a test sets ends with the test."""
    yield from _restoring_default_scope()


@pytest.fixture
def single_thread():
    """Run a test on one torch thread: tiny ops run fastest and deterministically."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
