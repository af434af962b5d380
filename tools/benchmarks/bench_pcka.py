"""Speed and memory of ``PCKALoss`` against the work no implementation avoids, and
against a per-channel loop as in the authors' code.

Side by side in one run, on RetinaNet FPN shapes for an 800 x 1333 input (B = 2,
C = 256, levels 100x168, 50x84, 25x42, 13x21), forward + backward, intra-only and
with the inter term, three implementations:

* ``floor``: what any implementation of PCKA must compute, and nothing else: the
  bilinear resize of both levels to the patch grid, their arrangement in patch groups,
  and the batched Gram products (student and teacher Gram matrices over patches, and
  with the inter term the student-teacher cross product whose squared norm gives the
  inter alignment), each with its backward. Its value is not the loss; the goal is
  ``PCKALoss`` close to this time;
* ``PCKALoss``;
* ``loop``: the way the authors' released code works, as context: a Python loop over
  the channels, full Gram matrices per channel, alignments through traces of matrix
  products, and the inter term with full d x d Gram matrices (d = B * 16 * 16).

Timings are interleaved (one repeat of every variant, then the next repeat) so that
load from other processes hits all of them alike.

Peak memory: on CUDA ``torch.cuda.max_memory_allocated`` above the inputs; on CPU the
growth of the peak resident set while one forward + backward runs in a fresh
subprocess per variant (Linux): the peak is reset to the current resident set
(``/proc/self/clear_refs``) so that import-time peaks do not hide it, and read from
``VmHWM`` in ``/proc/self/status``; ``resource.getrusage`` would report the parent's
resident set inherited at fork, which is larger than the loss's own peak.

    python tools/benchmarks/bench_pcka.py --device cpu --repeats 3
    python tools/benchmarks/bench_pcka.py --quick          # small shapes, seconds
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Callable, Dict, List, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

import mmrazor_relkd  # noqa: F401  (compat shims before mmrazor)
from mmrazor_relkd.functional.patch_cka import patch_groups
from mmrazor_relkd.models.losses.pcka_loss import PCKALoss

FULL_LEVELS = [(100, 168), (50, 84), (25, 42), (13, 21)]
QUICK_LEVELS = [(25, 42), (13, 21)]
PATCH = 16
WEIGHT = 10.0
IMPLEMENTATIONS = ('floor', 'PCKALoss', 'loop')
VARIANTS = [(impl, term) for term in ('intra', 'inter') for impl in IMPLEMENTATIONS]


def loop_cka(x: Tensor, y: Tensor) -> Tensor:
    """The authors' alignment: full Gram matrices and traces of their products."""
    k_x = x @ x.T
    k_y = y @ y.T
    return torch.trace(k_x @ k_y) / torch.sqrt(torch.trace(k_x @ k_x) *
                                               torch.trace(k_y @ k_y))


def loop_pcka_level(student: Tensor, teacher: Tensor, inter: bool) -> Tensor:
    """PCKA of one level with a Python loop over the channels."""
    teacher = teacher.detach()
    h, w = student.shape[-2:]
    grid = (-(-h // PATCH) * PATCH, -(-w // PATCH) * PATCH)
    if grid != (h, w):
        student = F.interpolate(student, size=grid, mode='bilinear', align_corners=False)
        teacher = F.interpolate(teacher, size=grid, mode='bilinear', align_corners=False)
    b, c = student.shape[:2]
    u, v = grid[0] // PATCH, grid[1] // PATCH
    intra_sum = inter_sum = 0.0
    for channel in range(c):
        mats = [f[:, channel].reshape(b, u, PATCH, v, PATCH).permute(1, 3, 0, 2, 4)
                .reshape(u * v, b * PATCH * PATCH) for f in (teacher, student)]
        intra_sum = intra_sum + loop_cka(mats[0], mats[1])
        if inter:
            inter_sum = inter_sum + loop_cka(mats[0].T, mats[1].T)
    loss = WEIGHT * (1 - intra_sum / c)
    return loss + WEIGHT * (1 - inter_sum / c) if inter else loss


def floor_level(student: Tensor, teacher: Tensor, inter: bool) -> Tensor:
    """The unavoidable work of PCKA on one level: resize to the patch grid, patch
    groups (one per channel), the batched Gram products over patches, and with the
    inter term the student-teacher cross product; a scalar to backpropagate from."""
    patch = (PATCH, PATCH)
    groups_s = patch_groups(student, patch, 'channel')
    groups_t = patch_groups(teacher.detach(), patch, 'channel')
    gram_s = groups_s @ groups_s.transpose(1, 2)
    gram_t = groups_t @ groups_t.transpose(1, 2)
    out = (gram_s * gram_t).sum()
    if inter:
        out = out + (groups_s @ groups_t.transpose(1, 2)).square().sum()
    return out


def make_loss(impl: str, term: str) -> Callable[[List[Tensor], List[Tensor]], Tensor]:
    """``loss(students, teachers)`` of one variant, summed over the levels."""
    inter = term == 'inter'
    if impl == 'PCKALoss':
        return PCKALoss(loss_weight=WEIGHT, inter_weight=WEIGHT if inter else 0.0,
                        patch_size=PATCH)
    level_fn = floor_level if impl == 'floor' else loop_pcka_level
    return lambda students, teachers: sum(
        level_fn(s, t, inter) for s, t in zip(students, teachers))


def make_inputs(levels: List[Tuple[int, int]], batch: int, channels: int,
                device: str) -> Tuple[List[Tensor], List[Tensor]]:
    """Correlated student / teacher FPN levels (student leaves requiring grad)."""
    gen = torch.Generator().manual_seed(0)
    teachers, students = [], []
    for h, w in levels:
        teacher = torch.randn(batch, channels, h, w, generator=gen)
        student = 0.5 * teacher + torch.randn(batch, channels, h, w, generator=gen)
        teachers.append(teacher.to(device))
        students.append(student.to(device).requires_grad_())
    return students, teachers


def sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def run_once(loss_fn, students: List[Tensor], teachers: List[Tensor],
             device: str) -> Tuple[float, Tensor, List[Tensor]]:
    """Seconds for one forward + backward, the loss and the student gradients."""
    for s in students:
        s.grad = None
    sync(device)
    start = time.perf_counter()
    loss = loss_fn(students, teachers)
    loss.backward()
    sync(device)
    return time.perf_counter() - start, loss.detach(), [s.grad.clone() for s in students]


def peak_memory_mib(args: argparse.Namespace, impl: str, term: str) -> float:
    """Peak extra memory (MiB) of one forward + backward of a variant."""
    if args.device == 'cuda':
        students, teachers = make_inputs(args.levels, args.batch, args.channels, 'cuda')
        torch.cuda.synchronize()
        base = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
        run_once(make_loss(impl, term), students, teachers, 'cuda')
        return (torch.cuda.max_memory_allocated() - base) / 2**20
    cmd = [sys.executable, __file__, '--measure-rss', impl, term, '--channels',
           str(args.channels), '--batch', str(args.batch), '--threads',
           str(torch.get_num_threads())] + (['--quick'] if args.quick else [])
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])['peak_mib']


def peak_rss_kib() -> int:
    """This process's peak resident set (``VmHWM``), KiB."""
    with open('/proc/self/status') as status:
        line = next(line for line in status if line.startswith('VmHWM:'))
    return int(line.split()[1])


def measure_rss(args: argparse.Namespace) -> None:
    """Subprocess entry: print the peak RSS growth of one forward + backward."""
    impl, term = args.measure_rss
    students, teachers = make_inputs(args.levels, args.batch, args.channels, 'cpu')
    loss_fn = make_loss(impl, term)
    with open('/proc/self/clear_refs', 'w') as clear_refs:
        clear_refs.write('5')  # peak RSS := current RSS
    before = peak_rss_kib()
    run_once(loss_fn, students, teachers, 'cpu')
    print(json.dumps({'peak_mib': (peak_rss_kib() - before) / 1024}))


def max_relative(a: List[Tensor], b: List[Tensor]) -> Tuple[float, float]:
    """Max |a - b| over all tensors and that divided by max |b|."""
    diff = max((x.double() - y.double()).abs().max().item() for x, y in zip(a, b))
    scale = max(y.double().abs().max().item() for y in b)
    return diff, diff / scale


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--repeats', type=int, default=3,
                        help='timed forward + backward runs per variant (median)')
    parser.add_argument('--quick', action='store_true',
                        help='small shapes (C=32, two small levels) for a smoke run')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--channels', type=int, default=None,
                        help='channels per level (default 256, 32 with --quick)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch CPU threads (default: torch\'s own choice)')
    parser.add_argument('--measure-rss', nargs=2, metavar=('IMPL', 'TERM'),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    args.levels = QUICK_LEVELS if args.quick else FULL_LEVELS
    args.channels = args.channels or (32 if args.quick else 256)
    if args.measure_rss:
        measure_rss(args)
        return
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda needs a CUDA GPU')

    students, teachers = make_inputs(args.levels, args.batch, args.channels, args.device)
    losses = {v: make_loss(*v) for v in VARIANTS}
    times: Dict[Tuple[str, str], List[float]] = {v: [] for v in VARIANTS}
    results = {v: run_once(losses[v], students, teachers, args.device)
               for v in VARIANTS}  # warm-up, also gives the values compared below
    for _ in range(args.repeats):
        for v in VARIANTS:
            times[v].append(run_once(losses[v], students, teachers, args.device)[0])

    shapes = ', '.join(f'{h}x{w}' for h, w in args.levels)
    print(f'PCKA forward + backward, B={args.batch}, C={args.channels}, levels {shapes}, '
          f'patch {PATCH}, device {args.device}, torch {torch.__version__}, '
          f'{torch.get_num_threads()} threads, median of {args.repeats}\n')
    print('| terms | implementation | median time (s) | time / floor | loop / time '
          '| peak memory (MiB) | max abs / rel diff of loss vs loop '
          '| max abs / rel diff of gradient vs loop |')
    print('| --- | --- | ---: | ---: | ---: | ---: | --- | --- |')
    names = {'floor': 'floor: resize + Gram products', 'PCKALoss': 'PCKALoss',
             'loop': 'per-channel loop (authors)'}
    for term in ('intra', 'inter'):
        floor_time = statistics.median(times[('floor', term)])
        loop_time = statistics.median(times[('loop', term)])
        label = 'intra only' if term == 'intra' else 'intra + inter'
        for impl in IMPLEMENTATIONS:
            v = (impl, term)
            median = statistics.median(times[v])
            memory = peak_memory_mib(args, impl, term)
            if impl == 'PCKALoss':
                _, loss, grads = results[v]
                _, loop_loss, loop_grads = results[('loop', term)]
                loss_abs, loss_rel = max_relative([loss], [loop_loss])
                grad_abs, grad_rel = max_relative(grads, loop_grads)
                diffs = (f'{loss_abs:.1e} / {loss_rel:.1e} | '
                         f'{grad_abs:.1e} / {grad_rel:.1e}')
            else:
                diffs = '- | -'
            print(f'| {label} | {names[impl]} | {median:.3f} | '
                  f'{median / floor_time:.2f}x | {loop_time / median:.1f}x | '
                  f'{memory:.0f} | {diffs} |')

if __name__ == '__main__':
    main()
