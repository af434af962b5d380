"""A tiny mmengine model for distillation tests on plain tensors."""
from typing import Optional

import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn


class ToyClassifier(BaseModel):
    """backbone -> tanh neck (the penultimate features) -> linear head.

    The backbone is one linear layer, or two with a ReLU between when ``hidden`` is
    given. ``data_samples`` are plain label tensors.
    """

    def __init__(self, feat_dim: int = 5, num_classes: int = 3, in_dim: int = 6,
                 hidden: Optional[int] = None) -> None:
        super().__init__()
        if hidden is None:
            self.backbone = nn.Linear(in_dim, feat_dim)
        else:
            self.backbone = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(),
                                          nn.Linear(hidden, feat_dim))
        self.neck = nn.Tanh()
        self.head = nn.Linear(feat_dim, num_classes)

    def extract_feat(self, inputs):
        return (self.neck(self.backbone(inputs)), )

    def forward(self, inputs, data_samples=None, mode='tensor'):
        logits = self.head(self.extract_feat(inputs)[-1])
        if mode == 'loss':
            return dict(loss=F.cross_entropy(logits, data_samples))
        return logits
