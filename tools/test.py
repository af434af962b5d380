"""Evaluate a checkpoint on the test set of an OpenMMLab config (plain or distillation).

Mirrors mmrazor's / mmdet's ``tools/test.py``.
"""
import argparse

import mmrazor_relkd  # noqa: F401  (first: makes mmrazor importable on torch >= 2)
from common_args import add_common_args, load_config, parse_common
from dependency_warnings import hide_dependency_warnings
from distributed_exit import leave_process_group
from mmengine.registry import RUNNERS
from mmengine.runner import Runner
from mmrazor.utils import register_all_modules


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='dump the predictions to this pickle file')
    add_common_args(parser)
    return parse_common(parser)


def main() -> None:
    hide_dependency_warnings()
    args = parse_args()
    register_all_modules(False)
    cfg = load_config(args)
    cfg.load_from = args.checkpoint
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl or .pickle file, got {args.out}')
        cfg.test_evaluator = [cfg.test_evaluator] if isinstance(
            cfg.test_evaluator, dict) else list(cfg.test_evaluator)
        cfg.test_evaluator.append(dict(type='DumpResults', out_file_path=args.out))
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.test()
    del runner  # its DDP wrapper holds the process group
    leave_process_group()


if __name__ == '__main__':
    main()
