"""Training throughput of KD vs RCKA distillation, measured side by side in one run.

Both methods distil the same CIFAR-size ``ResNet_CIFAR`` teacher into the same student
(built from one seed) through mmrazor's ``SingleTeacherDistill``; a timed iteration is
a full ``train_step`` (data preprocessor, teacher and student forward, losses,
backward, SGD step) on one synthetic batch:

* KD:   CE + ``KLDivergence(tau=4)`` on the logits (mmrazor).
* RCKA: CE + ``alpha`` FCKA on the last backbone stage + ``beta`` (intra + inter) LCKA
  on the logits, alpha = beta = 5 (Zhou et al., IJCAI 2024, Eq. 4-5).

The paper reports RCKA at 79% of KD's throughput (11.31 vs 14.28 batches/s, Tab. 10,
ResNet-34 -> ResNet-18 on ImageNet, 8 V100); the goal here is RCKA within 3% of KD.
The methods alternate iteration by iteration and the table reports medians, so that a
drifting machine load hits both alike. A second column times the distillation losses
alone (forward + backward on the recorded tensors), the only work that differs.

Example::

    python tools/benchmarks/bench_rcka_throughput.py                     # GPU if any
    python tools/benchmarks/bench_rcka_throughput.py --device cpu --threads 1 \\
        --base-channels 16 --iters 10 --warmup 2 --loss-repeats 100
"""
import argparse
import copy
from functools import partial
from typing import Dict, Tuple

import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS

from distill_timing import distill_losses_step, interleaved_medians

RECORDERS = dict(
    student_recorders=dict(
        logits=dict(type='ModuleOutputs', source='head.fc'),
        feat=dict(type='ModuleOutputs', source='backbone.layer4')),
    teacher_recorders=dict(
        logits=dict(type='ModuleOutputs', source='head.fc'),
        feat=dict(type='ModuleOutputs', source='backbone.layer4')))


def _record(recorder: str, from_student: bool) -> dict:
    return dict(recorder=recorder, from_student=from_student)


DISTILLERS = {
    'KD': dict(
        distill_losses=dict(loss_kd=dict(type='KLDivergence', tau=4, loss_weight=1.0)),
        loss_forward_mappings=dict(loss_kd=dict(preds_S=_record('logits', True),
                                                preds_T=_record('logits', False)))),
    'RCKA': dict(
        distill_losses=dict(
            loss_fcka=dict(type='FCKALoss', loss_weight=5.0),
            loss_lcka=dict(type='LCKALoss', loss_weight=5.0, inter_weight=5.0)),
        loss_forward_mappings=dict(
            loss_fcka=dict(preds_S=_record('feat', True), preds_T=_record('feat', False)),
            loss_lcka=dict(preds_S=_record('logits', True),
                           preds_T=_record('logits', False)))),
}


def classifier(depth: int, base_channels: int, num_classes: int) -> dict:
    """An mmpretrain ``ImageClassifier`` with a ``ResNet_CIFAR`` backbone."""
    expansion = 1 if depth < 50 else 4
    return dict(
        type='mmpretrain.ImageClassifier',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=num_classes),
        backbone=dict(type='mmpretrain.ResNet_CIFAR', depth=depth,
                      stem_channels=base_channels, base_channels=base_channels),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='mmpretrain.LinearClsHead', num_classes=num_classes,
                  in_channels=8 * base_channels * expansion,
                  loss=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0)))


def build_algorithm(method: str, args: argparse.Namespace) -> torch.nn.Module:
    """The distillation algorithm of ``method``; identical weights for every method."""
    torch.manual_seed(0)
    cfg = dict(
        type='SingleTeacherDistill',
        data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor',
                               num_classes=args.num_classes,
                               mean=[129.3, 124.1, 112.4], std=[68.5, 65.4, 70.4]),
        architecture=classifier(args.student_depth, args.base_channels, args.num_classes),
        teacher=classifier(args.teacher_depth, args.base_channels, args.num_classes),
        distiller=dict(type='ConfigurableDistiller', **copy.deepcopy(RECORDERS),
                       **copy.deepcopy(DISTILLERS[method])))
    algorithm = MODELS.build(cfg).to(args.device)
    algorithm.train()  # SingleTeacherDistill.train returns None
    return algorithm


def synthetic_batch(args: argparse.Namespace) -> dict:
    gen = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (args.batch, 3, 32, 32), generator=gen,
                           dtype=torch.uint8)
    labels = torch.randint(0, args.num_classes, (args.batch,), generator=gen)
    return dict(inputs=images.to(args.device),
                data_samples=[DataSample().set_gt_label(label) for label in labels])


def run(args: argparse.Namespace) -> Tuple[Dict[str, float], Dict[str, float]]:
    """Median seconds per training iteration and per distillation-loss step."""
    batch = synthetic_batch(args)
    iterations, loss_steps = {}, {}
    for method in DISTILLERS:
        algorithm = build_algorithm(method, args)
        optim_wrapper = OptimWrapper(torch.optim.SGD(
            algorithm.student.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4))
        iterations[method] = partial(algorithm.train_step, batch, optim_wrapper)
        for _ in range(args.warmup):
            iterations[method]()
        loss_steps[method] = distill_losses_step(algorithm)
    iteration_seconds = interleaved_medians(iterations, args.iters, args.device)
    loss_seconds = interleaved_medians(loss_steps, args.loss_repeats, args.device)
    return iteration_seconds, loss_seconds


def markdown_tables(iteration_seconds: Dict[str, float], loss_seconds: Dict[str, float],
                    args: argparse.Namespace) -> str:
    kd = iteration_seconds['KD']
    lines = [f'ResNet_CIFAR-{args.teacher_depth} -> ResNet_CIFAR-{args.student_depth} '
             f'(base channels {args.base_channels}), batch {args.batch} x 3 x 32 x 32, '
             f'{args.num_classes} classes, device {args.device} '
             f'({torch.get_num_threads()} CPU threads); medians of {args.iters} '
             f'interleaved iterations after {args.warmup} warm-up iterations, of '
             f'{args.loss_repeats} loss steps', '',
             '| method | batches / s | relative to KD | distill losses fwd+bwd (ms) '
             '| losses / KD iteration |',
             '| --- | ---: | ---: | ---: | ---: |']
    for method, seconds in iteration_seconds.items():
        lines.append(f'| {method} | {1 / seconds:.2f} | {100 * kd / seconds:.1f}% | '
                     f'{1000 * loss_seconds[method]:.2f} | '
                     f'{100 * loss_seconds[method] / kd:.2f}% |')
    lines.append('| paper (Tab. 10, ImageNet, 8 V100) | KD 14.28, RCKA 11.31 | 79.2% | | |')
    return '\n'.join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--num-classes', type=int, default=100)
    parser.add_argument('--student-depth', type=int, default=18)
    parser.add_argument('--teacher-depth', type=int, default=34)
    parser.add_argument('--base-channels', type=int, default=64,
                        help='ResNet width (64 = standard; smaller for slow CPUs)')
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--iters', type=int, default=50,
                        help='timed training iterations per method')
    parser.add_argument('--loss-repeats', type=int, default=200,
                        help='timed distillation-loss steps per method')
    parser.add_argument('--threads', type=int,
                        help='CPU threads for torch (default: torch\'s choice); 1 gives '
                             'stable timings on a shared machine')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    print(markdown_tables(*run(args), args))


if __name__ == '__main__':
    main()
