"""How far two mmengine checkpoints' weights (``state_dict``) differ: one JSON line
with the number of tensors, how many differ, and the largest absolute and relative
difference (over the largest magnitude of that tensor in the first checkpoint).

    python tools/gpu_check/compare_weights.py A.pth B.pth
"""
import argparse
import json
from typing import Dict, Mapping

import torch
from torch import Tensor

import mmrazor_relkd  # noqa: F401  (lets mmengine load its checkpoints: weights_only)
from mmengine.runner import CheckpointLoader


def weight_differences(a: Mapping[str, Tensor], b: Mapping[str, Tensor]) -> Dict:
    """The differences between two state dicts with the same keys and shapes."""
    if a.keys() != b.keys():
        raise KeyError(f'the checkpoints hold other tensors: only in the first '
                       f'{sorted(a.keys() - b.keys())[:5]}, only in the second '
                       f'{sorted(b.keys() - a.keys())[:5]}')
    differing, max_abs, max_rel = 0, 0.0, 0.0
    for key, x in a.items():
        y = b[key]
        if x.shape != y.shape:
            raise ValueError(f'{key}: shape {tuple(x.shape)} against {tuple(y.shape)}')
        if torch.equal(x, y):
            continue
        differing += 1
        diff = (x.double() - y.double()).abs().max().item()
        scale = x.double().abs().max().item()
        max_abs = max(max_abs, diff)
        max_rel = max(max_rel, diff / scale if scale else float('inf'))
    return dict(tensors=len(a), differing=differing, max_abs_diff=max_abs,
                max_rel_diff=max_rel)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('first')
    parser.add_argument('second')
    args = parser.parse_args()
    states = [CheckpointLoader.load_checkpoint(path, map_location='cpu')['state_dict']
              for path in (args.first, args.second)]
    print(json.dumps(weight_differences(*states)))


if __name__ == '__main__':
    main()
