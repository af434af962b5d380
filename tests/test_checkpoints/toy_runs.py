"""Tiny real training runs of every shipped toy config, for the checkpoint tests.

Every config under ``configs/shapes/``, ``configs/rcka/shapes/``, ``configs/kda/shapes/``
and ``configs/fkd/*_shapes.py`` runs through mmengine's ``Runner`` for one epoch of two
iterations (8 training samples, batch 4) and one validation, on a 16 / 8 image copy of
the embedded dataset. Distillation teachers get a checkpoint written by mmengine's
``save_checkpoint`` from the freshly built teacher (the CIFAR-10 teachers of the FKD
configs would otherwise be downloaded). The RCKA run also has a ``CKAMonitorHook``.
"""
import copy
import glob
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu

REPO = Path(__file__).resolve().parents[2]
TOY_CONFIG_PATTERNS = ('configs/shapes/*.py', 'configs/rcka/shapes/*.py',
                       'configs/kda/shapes/*.py', 'configs/fkd/*_shapes.py')
#: the extra hook of the RCKA run, so that its logs are in the checkpoints too
CKA_MONITOR = dict(type='CKAMonitorHook', interval=1, pairs=dict(logits=('logits', 'logits')))
TRAIN_SAMPLES = 8
BATCH_SIZE = 4
ITERATIONS = TRAIN_SAMPLES // BATCH_SIZE


def toy_configs() -> List[str]:
    """Every shipped toy config, relative to the repository."""
    return sorted(p for pattern in TOY_CONFIG_PATTERNS
                  for p in glob.glob(pattern, root_dir=REPO))


@dataclass
class ToyRun:
    """A finished run: its config and its two checkpoints."""

    cfg: Config
    work_dir: Path
    #: written by ``CheckpointHook`` after the training epoch, before validation
    epoch_checkpoint: Path
    #: written by ``Runner.save_checkpoint`` after validation (validation logs included)
    final_checkpoint: Path


def data_options(cfg: Config, data_root: Path) -> Dict[str, Any]:
    options: Dict[str, Any] = {}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options.update({f'{loader}.dataset.data_root': f'{data_root}/',
                        f'{loader}.num_workers': 0,
                        f'{loader}.persistent_workers': False})
    for evaluator in ('val_evaluator', 'test_evaluator'):
        if 'ann_file' in cfg[evaluator]:
            options[f'{evaluator}.ann_file'] = f'{data_root}/annotations/instances_val.json'
    options.update({'train_dataloader.batch_size': BATCH_SIZE,
                    'train_dataloader.dataset.indices': TRAIN_SAMPLES,
                    'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1,
                    'default_hooks.checkpoint.interval': 1,
                    'default_hooks.logger.interval': 1})
    return options


def _build_teacher(teacher_cfg: Dict) -> Any:
    from mmrazor.registry import MODELS
    with DefaultScope.overwrite_default_scope('mmrazor'):
        return MODELS.build(teacher_cfg)


def _save_weights(module: Any, path: Path) -> str:
    save_checkpoint(dict(meta=dict(note='freshly built teacher'),
                         state_dict=weights_to_cpu(module.state_dict())), str(path))
    return str(path)


def _provide_teacher_checkpoints(model: ConfigDict, work_dir: Path) -> None:
    """Point ``teacher_ckpt`` / an ensemble's ``checkpoints`` at local teacher files."""
    teacher = model.get('teacher')
    if teacher is None:
        return
    if 'checkpoints' in teacher:
        built = _build_teacher(dict(copy.deepcopy(teacher),
                                    checkpoints=[None] * len(teacher.teachers)))
        teacher.checkpoints = [_save_weights(member, work_dir / f'teacher_{i}.pth')
                               for i, member in enumerate(built.teachers)]
    else:
        model.teacher_ckpt = _save_weights(_build_teacher(teacher), work_dir / 'teacher.pth')


def toy_config(config: str, data_root: Path, work_dir: Path,
               experiment: str = 'train') -> Config:
    """The config, set up for a tiny run in ``work_dir`` on the data in ``data_root``."""
    cfg = Config.fromfile(str(REPO / config))
    cfg.merge_from_dict(data_options(cfg, data_root))
    cfg.work_dir = str(work_dir)
    cfg.experiment_name = f'{Path(config).stem}_{experiment}'
    if 'rcka_' in Path(config).name:
        cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [CKA_MONITOR]
    _provide_teacher_checkpoints(cfg.model, work_dir)
    return cfg


def num_param_schedulers(cfg: Config) -> int:
    """How many parameter schedulers the config has (one dict or a list of them)."""
    schedulers = cfg.get('param_scheduler', [])
    return len(schedulers) if isinstance(schedulers, list) else 1


def run_toy_config(config: str, data_root: Path, work_dir: Path) -> ToyRun:
    """Train ``config`` for one tiny epoch with validation and save its checkpoints."""
    cfg = toy_config(config, data_root, work_dir)
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    runner.save_checkpoint(str(work_dir), 'final.pth')
    return ToyRun(cfg, work_dir, work_dir / 'epoch_1.pth', work_dir / 'final.pth')


def loading_runner(cfg: Config, checkpoint: Path, resume: bool, work_dir: Path) -> Runner:
    """A new runner of ``cfg``, in ``work_dir``, that loads (``load_from``) or resumes
    from ``checkpoint`` when it trains."""
    cfg = copy.deepcopy(cfg)
    cfg.experiment_name = f'{cfg.experiment_name}_{"resume" if resume else "load"}'
    cfg.work_dir = str(work_dir)
    cfg.resume = resume
    cfg.load_from = str(checkpoint)
    return Runner.from_cfg(cfg)
