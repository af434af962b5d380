"""Build a shipped config's model and run one training step on a tiny synthetic batch.

Used by every config test: ``run_one_train_step(path)`` proves that the config resolves
(``_base_`` files, ``pkg::`` paths, registry names), that its data pipelines build, that
the model builds with the teacher checkpoint left out, and that a forward + backward +
optimizer step works.
"""
from typing import Any, Dict, Optional

import torch
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope
from mmrazor.utils import register_all_modules

DET_IMAGE_SIZE = 128
CLS_IMAGE_SIZE = 32
BATCH_SIZE = 2


def _drop_checkpoints(node: Any) -> None:
    """Remove every reference to downloadable weights, in place."""
    if isinstance(node, dict):
        if 'teacher_ckpt' in node:
            node['teacher_ckpt'] = None
        init_cfg = node.get('init_cfg')
        if isinstance(init_cfg, dict) and init_cfg.get('type') == 'Pretrained':
            node['init_cfg'] = None
        if isinstance(node.get('pretrained'), str):
            node['pretrained'] = None
        for value in node.values():
            _drop_checkpoints(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _drop_checkpoints(value)


def _student(model: torch.nn.Module) -> torch.nn.Module:
    return getattr(model, 'architecture', model)


def _detection_batch(student: torch.nn.Module) -> Dict:
    from mmdet.testing import demo_mm_inputs
    with_mask = any(getattr(m, 'with_mask', False) is True for m in student.modules())
    return demo_mm_inputs(BATCH_SIZE, [(3, DET_IMAGE_SIZE, DET_IMAGE_SIZE)] * BATCH_SIZE,
                          num_items=[3] * BATCH_SIZE, num_classes=2, with_mask=with_mask)


def _classification_batch(student: torch.nn.Module) -> Dict:
    from mmpretrain.structures import DataSample
    num_classes = student.head.num_classes
    labels = torch.arange(BATCH_SIZE) % num_classes
    size = CLS_IMAGE_SIZE
    return dict(
        inputs=torch.randint(0, 256, (BATCH_SIZE, 3, size, size), dtype=torch.uint8),
        data_samples=[DataSample().set_gt_label(label) for label in labels])


def _datasets(node: Any):
    """Every dataset dict inside a dataloader's dataset (wrappers included)."""
    if isinstance(node, dict):
        if 'pipeline' in node:
            yield node
        for key in ('dataset', 'datasets'):
            yield from _datasets(node.get(key))
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _datasets(value)


def build_pipelines(cfg: Config) -> int:
    """Build every data pipeline of the config (no data needed); returns how many."""
    from mmengine.dataset import Compose
    from mmengine.registry import DefaultScope
    count = 0
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        for dataset in _datasets(cfg.get(loader, {}).get('dataset')):
            dataset_type = dataset.get('type', '')
            scope = dataset_type.split('.')[0] if '.' in dataset_type else cfg.get(
                'default_scope', 'mmengine')
            with DefaultScope.overwrite_default_scope(scope):
                Compose(dataset['pipeline'])
            count += 1
    return count


def build_model(config_path: str, cfg_options: Optional[Dict] = None
                ) -> torch.nn.Module:
    """The config's model, with every checkpoint left out."""
    register_all_modules(False)
    cfg = Config.fromfile(config_path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmrazor'))
    model_cfg = ConfigDict(cfg.model)
    _drop_checkpoints(model_cfg)
    model = MODELS.build(model_cfg)
    model.cfg = cfg
    assert build_pipelines(cfg) > 0, f'{config_path}: no data pipeline found'
    return model


def run_one_train_step(config_path: str, cfg_options: Optional[Dict] = None
                       ) -> Dict[str, float]:
    """One ``train_step`` of the config's model; returns its logged losses."""
    from mmdet.models.detectors import BaseDetector
    torch.manual_seed(0)
    model = build_model(config_path, cfg_options)
    model.train()
    student = _student(model)
    if isinstance(student, BaseDetector):
        data = _detection_batch(student)
    else:
        data = _classification_batch(student)
    optim_wrapper = build_optim_wrapper(model, model.cfg.optim_wrapper)
    log_vars = model.train_step(data, optim_wrapper)
    losses = {key: float(value) for key, value in log_vars.items()}
    bad = {key: value for key, value in losses.items()
           if not torch.isfinite(torch.tensor(value))}
    assert not bad, f'{config_path}: non-finite losses {bad}'
    return losses
