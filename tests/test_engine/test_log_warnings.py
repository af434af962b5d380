"""Warnings meant for users go through mmengine's logger, so they land in the run's log
file (not only on stderr), once per run however many iterations repeat them."""
import re
from pathlib import Path

import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner
from torch import nn

from mmrazor_relkd.models.losses import PCKALoss

SINGLE_PATCH = re.compile(r'WARNING - PCKA: a \(8, 8\) level is a single \(16, 16\) patch: '
                          r'.*use a smaller patch_size')


class SmallFeatureMaps(BaseModel):
    """One conv whose 8 x 8 maps PCKALoss (16 x 16 patches) aligns with fixed random
    'teacher' maps: every level is a single patch."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.loss = PCKALoss(patch_size=16)
        self.register_buffer('target', torch.randn(2, 4, 8, 8))

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        features = self.conv(inputs)
        if mode == 'loss':
            return dict(loss_pcka=self.loss(features, self.target[:len(features)]))
        return features


def test_pcka_single_patch_warning_lands_in_the_log_file_once(tmp_path):
    images = [dict(inputs=torch.randn(3, 8, 8)) for _ in range(4)]
    runner = Runner(
        model=SmallFeatureMaps(),
        work_dir=str(tmp_path),
        train_dataloader=dict(dataset=images, batch_size=2, num_workers=0,
                              sampler=dict(type='DefaultSampler', shuffle=False),
                              collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=False, max_iters=3),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=-1)),
        # its own logger: one named by the start second alone is shared with any runner
        # another test started in the same second
        experiment_name='test_pcka_single_patch_warning')
    runner.train()

    (log_file, ) = Path(runner.log_dir).glob('*.log')
    assert len(SINGLE_PATCH.findall(log_file.read_text())) == 1
