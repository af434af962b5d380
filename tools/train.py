"""Train a model (plain or distillation) from an OpenMMLab config.

Mirrors mmrazor's / mmdet's ``tools/train.py``; ``import mmrazor_relkd`` applies the
compatibility shims and registers the plugin before mmrazor is imported.
"""
import argparse

import mmrazor_relkd  # noqa: F401  (first: makes mmrazor importable on torch >= 2)
from common_args import add_common_args, load_config, parse_common
from dependency_warnings import hide_dependency_warnings
from distributed_exit import leave_process_group
from mmengine.config import Config
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmrazor.utils import register_all_modules


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    add_common_args(parser)
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic mixed precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate with the total batch size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or from the latest one '
                        'in the work dir when no path is given')
    return parse_common(parser)


def build_config(args: argparse.Namespace) -> Config:
    """The config with the command line's overrides applied."""
    cfg = load_config(args)
    if args.amp:
        optim_type = cfg.optim_wrapper.get('type', 'OptimWrapper')
        if optim_type == 'AmpOptimWrapper':
            print('AMP training is already enabled in the config.')
        else:
            if optim_type != 'OptimWrapper':
                raise ValueError(f'--amp needs an `OptimWrapper`, the config has '
                                 f'`{optim_type}`')
            cfg.optim_wrapper.type = 'AmpOptimWrapper'
            cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.auto_scale_lr:
        if 'auto_scale_lr' not in cfg or 'base_batch_size' not in cfg.auto_scale_lr:
            raise ValueError('--auto-scale-lr needs `auto_scale_lr = dict('
                             'base_batch_size=...)` in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def main() -> None:
    hide_dependency_warnings()
    args = parse_args()
    register_all_modules(False)
    cfg = build_config(args)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()
    del runner  # its DDP wrapper holds the process group
    leave_process_group()


if __name__ == '__main__':
    main()
