"""How much one training step of a classifier depends on the number of CPU threads.

Builds the model of CONFIG (an mmpretrain classifier) with a fixed seed, draws one
random batch of images and labels, and computes the loss and its gradients once per
thread count, each time from the same weights. For every thread count after the first
it prints the loss and the largest relative difference of a parameter's gradient from
those of the first thread count.

Differences at the level of float32 rounding (about 1e-7) mean the threads only sum in
another order; a training run still amplifies them over its iterations into another
run. A much larger difference means another algorithm.

Example::

    python tools/analysis/thread_rounding.py configs/rcka/shapes/resnet8_1xb32_shapes.py \\
        --threads 1 2 --batch 32
"""
import argparse
import copy
from typing import Dict, List, NamedTuple, Sequence, Tuple

import torch


class StepResult(NamedTuple):
    """The loss and gradients of one training step on ``threads`` threads."""
    threads: int
    loss: float
    grads: Dict[str, torch.Tensor]


def largest_relative_difference(grads: Dict[str, torch.Tensor],
                                reference: Dict[str, torch.Tensor]) -> Tuple[float, str]:
    """max over parameters of ||g - g_ref|| / ||g_ref|| (0 where both are 0), and the
    parameter where it occurs."""
    if grads.keys() != reference.keys():
        raise ValueError('the two steps have different parameters')
    worst, name = 0.0, ''
    for key, ref in reference.items():
        diff = (grads[key] - ref).norm().item()
        scale = ref.norm().item()
        relative = diff / scale if scale > 0 else (0.0 if diff == 0 else float('inf'))
        if relative > worst or not name:
            worst, name = relative, key
    return worst, name


def build_classifier(config: str, seed: int) -> torch.nn.Module:
    """The config's model, built and initialised after ``torch.manual_seed(seed)``."""
    import mmrazor_relkd  # noqa: F401  (compat shims and registration)
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmpretrain.models import ImageClassifier
    from mmpretrain.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope('mmpretrain')
    model_class = MODELS.get(cfg.model.type)
    if not (isinstance(model_class, type) and issubclass(model_class, ImageClassifier)):
        raise TypeError(f'{config}: the model is a {cfg.model.type}, not an mmpretrain '
                        'ImageClassifier; this tool checks classifiers only')
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model.train()


def training_steps(model: torch.nn.Module, thread_counts: Sequence[int], batch: int,
                   size: int, seed: int) -> List[StepResult]:
    """One loss + backward per thread count, each on a copy of ``model``, all on the same
    random batch (uint8 images of ``size`` px, labels 0, 1, 2, ... modulo the classes)."""
    from mmpretrain.structures import DataSample
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8,
                           generator=generator)
    labels = torch.arange(batch) % model.head.num_classes
    samples = [DataSample().set_gt_label(label) for label in labels]
    previous = torch.get_num_threads()
    results = []
    try:
        for threads in thread_counts:
            torch.set_num_threads(threads)
            step_model = copy.deepcopy(model)
            data = step_model.data_preprocessor(dict(inputs=images, data_samples=samples),
                                                True)
            loss, _ = step_model.parse_losses(step_model(**data, mode='loss'))
            loss.backward()
            results.append(StepResult(threads, loss.item(), {
                name: param.grad.detach().clone()
                for name, param in step_model.named_parameters() if param.grad is not None}))
    finally:
        torch.set_num_threads(previous)
    return results


def main(argv: Sequence[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='an mmpretrain classifier config')
    parser.add_argument('--threads', type=int, nargs='+', default=[1, 2],
                        help='thread counts to compare, the first is the reference')
    parser.add_argument('--batch', type=int, default=32)
    parser.add_argument('--size', type=int, default=32, help='image size in pixels')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args(argv)
    if len(args.threads) < 2 or min(args.threads) < 1:
        parser.error(f'--threads needs two or more counts of at least 1, got {args.threads}')
    model = build_classifier(args.config, args.seed)
    results = training_steps(model, args.threads, args.batch, args.size, args.seed)
    reference = results[0]
    print(f'{reference.threads} thread(s): loss {reference.loss:.10f} (reference)')
    for result in results[1:]:
        worst, name = largest_relative_difference(result.grads, reference.grads)
        print(f'{result.threads} thread(s): loss {result.loss:.10f}, largest relative '
              f'gradient difference {worst:.3g} ({name})')
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
