"""The PCKA losses' share of one training iteration of a PCKA distillation.

By default builds the embedded demo's
``configs/shapes/pcka_fpn_retina-r34_retina-r18-w32_shapes.py`` (RetinaNet-R34
teacher, half-width RetinaNet-R18 student, ``PCKALoss`` on FPN levels 0-2); any PCKA
config works with ``--config``. The teacher's weights are left out. It times side by
side, interleaved (ABBA order):

* a full ``train_step``: data preprocessor, teacher and student forward, detection and
  distillation losses, backward and the optimiser step (the config's: AdamW for the
  demo), on one synthetic batch (the config's batch size unless ``--batch``) at
  ``--image-size`` (the demo's 128 x 128 px unless given);
* the distillation losses alone, forward + backward, on the FPN features recorded in
  that step (mmrazor's own ``compute_distill_losses``).

The share is the ratio of the two medians; the goal is under 5% on the CPU toy, and
at most 2% at COCO scale on a GPU (what ``tools/gpu_check/`` applies).

    python tools/benchmarks/bench_pcka_iteration.py --threads 1 --iters 20

At COCO scale on a GPU (RetinaNet X101 -> R50, 800 x 1333, batch 2):

    python tools/benchmarks/bench_pcka_iteration.py --device cuda --batch 2 \
        --image-size 800 1333 --iters 20 \
        --config configs/pcka/pcka_fpn_retina-x101_retina-r50_2x_coco.py
"""
import argparse
from functools import partial

import torch
from mmdet.testing import demo_mm_inputs
from mmengine.config import Config, ConfigDict
from mmengine.optim import build_optim_wrapper
from mmengine.registry import MODELS, init_default_scope

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor.utils import register_all_modules

from distill_timing import distill_losses_step, interleaved_medians

CONFIG = 'configs/shapes/pcka_fpn_retina-r34_retina-r18-w32_shapes.py'
IMAGE_SIZE = 128


def build(config: str, device: str = 'cpu'):
    """The config's distillation algorithm (teacher weights left out) on ``device``,
    its optimizer wrapper and its training batch size."""
    register_all_modules(False)
    cfg = Config.fromfile(config)
    init_default_scope('mmrazor')
    model = MODELS.build(ConfigDict(cfg.model, teacher_ckpt=None)).to(device)
    model.train()
    return model, build_optim_wrapper(model, cfg.optim_wrapper), \
        cfg.train_dataloader.batch_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--threads', type=int,
                        help='CPU threads for torch (default: torch\'s choice)')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--batch', type=int,
                        help='images per iteration (default: the config\'s batch size)')
    parser.add_argument('--image-size', type=int, nargs=2, metavar=('H', 'W'),
                        default=(IMAGE_SIZE, IMAGE_SIZE))
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--iters', type=int, default=20,
                        help='timed iterations (and as many loss steps)')
    args = parser.parse_args()
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda needs a CUDA GPU')
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, optim_wrapper, batch = build(args.config, args.device)
    batch = args.batch or batch
    height, width = args.image_size
    data = demo_mm_inputs(batch, [(3, height, width)] * batch, num_items=[3] * batch,
                          num_classes=4)
    iteration = partial(model.train_step, data, optim_wrapper)
    for _ in range(args.warmup):
        iteration()
    losses = distill_losses_step(model)
    medians = interleaved_medians(dict(iteration=iteration, losses=losses), args.iters,
                                  args.device)
    share = medians['losses'] / medians['iteration']
    where = (torch.cuda.get_device_name() if args.device == 'cuda' else
             f'{torch.get_num_threads()} CPU threads')
    print(f'{args.config}: batch {batch} x 3 x {height} x {width}, {where}, medians of '
          f'{args.iters} interleaved calls after {args.warmup} warm-up iterations\n')
    print('| training iteration (ms) | PCKA losses fwd + bwd (ms) | share |')
    print('| ---: | ---: | ---: |')
    print(f"| {1000 * medians['iteration']:.1f} | {1000 * medians['losses']:.2f} | "
          f'{100 * share:.2f}% |')


if __name__ == '__main__':
    main()
