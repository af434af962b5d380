"""Cost per iteration of the plugin's relation losses, measured side by side in one run.

Table 1 times forward + backward of each distillation loss on the same synthetic
batch (student tensors require grad; teacher tensors do not), relative to mmrazor's
logit KD (``KLDivergence``, tau 4): the classification losses by default at the size of
the CIFAR-100 pair ResNet-32x4 -> ResNet-8x4 (batch 64, penultimate features 256 /
256, last-stage maps 256 x 8 x 8, 100 classes), the detection losses on one FPN level
(P3 of two 800 x 1216 images: 2 x 256 x 100 x 152).

Table 2 times a full ``train_step`` (data preprocessor, teacher and student forward,
losses, backward, SGD step) of ``SingleTeacherDistill`` vs ``GNoRPDistill`` with the
same mAKD(cs, l2, sl1) loss: the price of GNoRP's two extra ``autograd.grad`` calls.

Methods alternate in ``--rounds`` rounds so that drifting machine load hits all alike.

Example::

    python tools/benchmarks/bench_relation_losses.py                 # GPU if any
    python tools/benchmarks/bench_relation_losses.py --device cpu --iters 5 --rounds 3
"""
import argparse
import time
from typing import Callable, Dict, List, Tuple

import torch

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmengine.optim import OptimWrapper
from mmpretrain.structures import DataSample
from mmrazor.registry import MODELS

Step = Callable[[], None]


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize(device)


def loss_cases(args: argparse.Namespace) -> Dict[str, Tuple[str, Step]]:
    """``name -> (what it compares, one forward + backward)`` on shared inputs."""
    gen = torch.Generator().manual_seed(0)

    def tensor(*shape: int, grad: bool) -> torch.Tensor:
        value = torch.randn(*shape, generator=gen).abs().to(args.device)
        return value.requires_grad_(grad)

    b, d_s, d_t, c = args.batch, args.student_dim, args.teacher_dim, args.num_classes
    feat_s, feat_t = tensor(b, d_s, grad=True), tensor(b, d_t, grad=False)
    map_s = tensor(b, d_s, args.map_size, args.map_size, grad=True)
    map_t = tensor(b, d_t, args.map_size, args.map_size, grad=False)
    logit_s, logit_t = tensor(b, c, grad=True), tensor(b, c, grad=False)
    fpn_s = tensor(args.det_batch, 256, *args.fpn_size, grad=True)
    fpn_t = tensor(args.det_batch, 256, *args.fpn_size, grad=False)
    labels = torch.randint(0, c, (b, ), generator=gen).to(args.device)

    kda = MODELS.build(dict(type='KDALoss', num_classes=c, student_channels=d_s,
                            teacher_channels=d_t, warmup_epochs=1)).to(args.device)
    kda.train()
    kda(feat_s.detach(), feat_t, labels)
    kda.update_landmarks()  # past the warm-up: landmarks exist, the loss is active

    cases = {
        'KD (mmrazor KLDivergence)': ('logits', dict(type='KLDivergence', tau=4),
                                      logit_s, logit_t),
        'RKD-distance (mmrazor DistanceWiseRKD)': (
            'penultimate', dict(type='DistanceWiseRKD'), feat_s, feat_t),
        'FKD (correlation, feature reg.)': (
            'penultimate', dict(type='FKDLoss', feature_reg_weight=1e-3), feat_s, feat_t),
        'mAKD (cs, l2, sl1)': ('penultimate', dict(type='AffinityLoss'), feat_s, feat_t),
        'mAKD (cs, l2, kl)': ('penultimate', dict(type='AffinityLoss', loss='kl'),
                              feat_s, feat_t),
        'mAKD (ip, l2, l2) = SP': ('penultimate', dict(type='AffinityLoss', affinity='ip',
                                                       normalize='l2', loss='l2'),
                                   feat_s, feat_t),
        'mAKD (l2, avg, sl1) = RKD-distance': (
            'penultimate', dict(type='AffinityLoss', affinity='l2', normalize='avg'),
            feat_s, feat_t),
        'mAKD (l1, l2, sl1)': ('penultimate', dict(type='AffinityLoss', affinity='l1'),
                               feat_s, feat_t),
        'FCKA': ('last-stage maps', dict(type='FCKALoss'), map_s, map_t),
        'LCKA (intra + inter)': ('logits', dict(type='LCKALoss', inter_weight=1.0),
                                 logit_s, logit_t),
        'PCKA (intra, 16 x 16 patches)': ('one FPN level', dict(type='PCKALoss'),
                                          fpn_s, fpn_t),
        'PCKA (intra + inter)': ('one FPN level', dict(type='PCKALoss', inter_weight=10.0),
                                 fpn_s, fpn_t),
        'MMD w/ patch': ('one FPN level', dict(type='MMDLoss'), fpn_s, fpn_t),
    }
    steps: Dict[str, Tuple[str, Step]] = {}
    for name, (inputs, cfg, student, teacher) in cases.items():
        module = MODELS.build(cfg).to(args.device)
        steps[name] = (inputs, lambda m=module, s=student, t=teacher: m(s, t).backward())
    steps['KDA (class-mean landmarks)'] = (
        'penultimate + labels', lambda: kda(feat_s, feat_t, labels).backward())
    return steps


def timed(step: Step, iters: int, device: str) -> float:
    """Seconds for ``iters`` calls of ``step``."""
    _sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        step()
    _sync(device)
    return time.perf_counter() - start


def alternate(steps: Dict[str, Step], args: argparse.Namespace) -> Dict[str, float]:
    """Milliseconds per call of every step, in rounds of alternating order."""
    for step in steps.values():
        timed(step, args.warmup, args.device)
    seconds: Dict[str, List[float]] = {name: [] for name in steps}
    for round_idx in range(args.rounds):
        order = list(steps) if round_idx % 2 == 0 else list(reversed(list(steps)))
        for name in order:
            seconds[name].append(timed(steps[name], args.iters, args.device))
    return {name: 1000 * sum(times) / (args.iters * args.rounds)
            for name, times in seconds.items()}


def _classifier(depth: int) -> dict:
    return dict(
        _scope_='mmpretrain', type='ImageClassifier',
        backbone=dict(type='ResNetCIFAR6n2', depth=depth),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=100, in_channels=64,
                  loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))


def train_step_cases(args: argparse.Namespace) -> Dict[str, Step]:
    """One full ``train_step`` of a ResNet-20 <- ResNet-32 pair, without / with GNoRP."""
    gen = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (args.batch, 3, 32, 32), generator=gen,
                           dtype=torch.uint8)
    batch = dict(inputs=images.to(args.device), data_samples=[
        DataSample().set_gt_label(label)
        for label in torch.randint(0, 100, (args.batch, ), generator=gen)])
    feat = dict(from_student=True, recorder='feat', data_idx=-1)
    distiller = dict(
        type='ConfigurableDistiller',
        student_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        teacher_recorders=dict(feat=dict(type='ModuleOutputs', source='neck')),
        distill_losses=dict(loss_makd=dict(type='AffinityLoss')),
        loss_forward_mappings=dict(loss_makd=dict(preds_S=feat,
                                                  preds_T=dict(feat, from_student=False))))
    steps = {}
    for name, extra in (('SingleTeacherDistill + mAKD', dict(type='SingleTeacherDistill')),
                        ('GNoRPDistill + mAKD', dict(
                            type='GNoRPDistill',
                            gnorp=dict(ratio=3.5, feature=dict(recorder='feat',
                                                               data_idx=-1))))):
        torch.manual_seed(0)
        algorithm = MODELS.build(dict(
            data_preprocessor=dict(type='mmpretrain.ClsDataPreprocessor', num_classes=100,
                                   mean=[129.3, 124.1, 112.4], std=[68.5, 65.4, 70.4]),
            architecture=_classifier(20), teacher=_classifier(32),
            distiller=distiller, **extra)).to(args.device)
        algorithm.train()  # mmrazor's train() returns None
        wrapper = OptimWrapper(torch.optim.SGD(algorithm.student.parameters(), lr=0.01,
                                               momentum=0.9))
        steps[name] = lambda a=algorithm, w=wrapper: a.train_step(batch, w)
    return steps


def markdown_tables(losses: Dict[str, float], inputs: Dict[str, str],
                    steps: Dict[str, float], args: argparse.Namespace) -> str:
    kd = losses['KD (mmrazor KLDivergence)']
    plain = steps.get('SingleTeacherDistill + mAKD')
    lines = [f'Loss forward + backward, batch {args.batch}, penultimate features '
             f'{args.student_dim} / {args.teacher_dim}, maps {args.student_dim} / '
             f'{args.teacher_dim} x {args.map_size} x {args.map_size}, '
             f'{args.num_classes} classes, FPN level {args.det_batch} x 256 x '
             f'{args.fpn_size[0]} x {args.fpn_size[1]}, device {args.device} '
             f'({torch.get_num_threads()} CPU threads), {args.rounds} rounds x '
             f'{args.iters} iterations after {args.warmup} warm-up', '',
             '| loss | input | ms / iteration | relative to KD | '
             '% of a CIFAR ResNet-32 -> ResNet-20 train_step |',
             '| --- | --- | ---: | ---: | ---: |']
    for name, value in losses.items():
        detection = inputs[name] == 'one FPN level'
        share = f'{100 * value / plain:.2f}%' if plain and not detection else '-'
        lines.append(f'| {name} | {inputs[name]} | {value:.3f} | {value / kd:.2f}x | '
                     f'{share} |')
    if not steps:
        return '\n'.join(lines)
    lines += ['', f'Full train_step, ResNet-32 -> ResNet-20 (CIFAR ResNets), batch '
              f'{args.batch} x 3 x 32 x 32', '',
              '| algorithm | ms / iteration | relative |', '| --- | ---: | ---: |']
    for name, value in steps.items():
        lines.append(f'| {name} | {value:.1f} | {value / plain:.3f}x |')
    return '\n'.join(lines)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch', type=int, default=64)
    parser.add_argument('--student-dim', type=int, default=256)
    parser.add_argument('--teacher-dim', type=int, default=256)
    parser.add_argument('--map-size', type=int, default=8)
    parser.add_argument('--num-classes', type=int, default=100)
    parser.add_argument('--det-batch', type=int, default=2, help='detection batch')
    parser.add_argument('--fpn-size', type=int, nargs=2, default=[100, 152],
                        help='FPN level H W (P3 of an 800 x 1216 input)')
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--iters', type=int, default=20, help='iterations per round')
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--skip-train-step', action='store_true',
                        help='only the loss table')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cases = loss_cases(args)
    losses = alternate({name: step for name, (_, step) in cases.items()}, args)
    steps = {} if args.skip_train_step else alternate(train_step_cases(args), args)
    print(markdown_tables(losses, {name: inputs for name, (inputs, _) in cases.items()},
                          steps, args))


if __name__ == '__main__':
    main()
