"""One key, ``data_root``, moves every loader and evaluator of a config to other data.

mmengine substitutes a base file's variables when it parses that file, so the
``data_root`` a dataset base writes into its loaders and evaluators is fixed before a
derived config (or ``--cfg-options data_root=...``) can change it. A dataset base that
sets ``runner_type = 'DataRootRunner'`` and records the path it wrote as
``default_data_root`` lets a user change the top-level ``data_root`` alone: the runner
rewrites every path under the loaders and evaluators that starts with
``default_data_root`` to start with ``data_root`` instead, before anything is built.
"""
from typing import Any

from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

DATA_SECTIONS = ('train_dataloader', 'val_dataloader', 'test_dataloader',
                 'val_evaluator', 'test_evaluator')


def _as_dir(path: str) -> str:
    return path.rstrip('/') + '/'


def _rebase(node: Any, old: str, new: str) -> Any:
    """``node`` with every string under the directory ``old`` rebased onto ``new``."""
    if isinstance(node, str):
        under = node.startswith(old) or node == old.rstrip('/')
        return new + node[len(old):] if under else node
    if isinstance(node, dict):
        return type(node)({key: _rebase(value, old, new) for key, value in node.items()})
    if isinstance(node, (list, tuple)):
        return type(node)(_rebase(item, old, new) for item in node)
    return node


def redirect_data_root(cfg: Config) -> Config:
    """Rebase the loaders' and evaluators' paths from ``cfg.default_data_root`` onto
    ``cfg.data_root`` (in place; returned for chaining).

    Raises:
        KeyError: if the config lacks ``data_root`` or ``default_data_root``.
    """
    for key in ('data_root', 'default_data_root'):
        if key not in cfg:
            raise KeyError(
                f'DataRootRunner needs the top-level `{key}` of the dataset base (for '
                'example configs/_base_/datasets/shapes_detection.py); set '
                '`data_root` to your data and keep the base\'s `default_data_root`')
    old, new = _as_dir(cfg.default_data_root), _as_dir(cfg.data_root)
    if old != new:
        for section in DATA_SECTIONS:
            if cfg.get(section) is not None:
                cfg[section] = _rebase(cfg[section], old, new)
        cfg.default_data_root = new
    return cfg


@RUNNERS.register_module()
class DataRootRunner(Runner):
    """mmengine's ``Runner`` whose data follows the config's top-level ``data_root``
    (see :func:`redirect_data_root`)."""

    @classmethod
    def from_cfg(cls, cfg: Config) -> 'DataRootRunner':
        return super().from_cfg(redirect_data_root(cfg))
