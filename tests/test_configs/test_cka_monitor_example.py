"""configs/examples/rcka_resnet20_resnet8_1xb32_shapes_cka-monitor.py: the toy RCKA
pair with CKAMonitorHook builds, trains two iterations on a tiny shapes dataset and
logs the teacher-student CKA of both monitored pairs, in training and validation."""
import json
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner
from mmrazor.registry import MODELS
from mmrazor.utils import register_all_modules

from mmrazor_relkd.datasets import generate_shapes_dataset

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs/examples/rcka_resnet20_resnet8_1xb32_shapes_cka-monitor.py'
PAIRS = ('logits', 'features')


def test_cka_monitor_example_logs_both_pairs(tmp_path, single_thread):
    data_root = generate_shapes_dataset(str(tmp_path / 'shapes'), num_train=16,
                                        num_val=8)
    crops = (data_root / 'annotations' / 'cls_train.txt').read_text().count('\n')
    register_all_modules(False)
    cfg = Config.fromfile(str(CONFIG))
    (hook, ) = [h for h in cfg.custom_hooks if h['type'] == 'CKAMonitorHook']
    assert set(hook['pairs']) == set(PAIRS)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        teacher = MODELS.build(cfg.model.teacher)
    torch.save(dict(state_dict=teacher.state_dict()), tmp_path / 'teacher.pth')

    options = {
        f'{loader}.{key}': value
        for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
        for key, value in (('dataset.data_root', f'{data_root}/'), ('num_workers', 0),
                           ('persistent_workers', False))}
    options.update({
        'model.teacher_ckpt': str(tmp_path / 'teacher.pth'),
        'train_dataloader.batch_size': (crops + 1) // 2,  # two iterations per epoch
        'train_cfg.max_epochs': 1, 'train_cfg.val_interval': 1,
        'custom_hooks.0.interval': 1, 'default_hooks.logger.interval': 1,
        'work_dir': str(tmp_path / 'work_dir')})
    cfg.merge_from_dict(options)
    runner = Runner.from_cfg(cfg)
    runner.train()

    (scalars, ) = (tmp_path / 'work_dir').glob('*/vis_data/scalars.json')
    records = [json.loads(line) for line in scalars.read_text().splitlines()]
    train = [r for r in records if 'iter' in r and 'loss' in r]
    assert [r['iter'] for r in train] == [1, 2]
    (val, ) = [r for r in records if 'accuracy/top1' in r]
    for record in (*train, val):
        for pair in PAIRS:
            assert 0.0 <= record[f'cka/{pair}'] <= 1.0 + 1e-6, record
