"""Cost of the KDA loss and its variants, measured side by side in one run.

A timed step is what a training iteration spends in ``KDALoss``: forward on one batch
(including the accumulation for the next landmarks) and backward to the student
features; an epoch end is one ``update_landmarks()``. The setting is the paper's
CIFAR-100 one before the FC layer (Qian et al., SDM 2022, Sec. 4): batch 256, 512-d
student and teacher features, 100 classes. Variants (Fig. 1, 5, 6): class means
(default), random samples, 2 k-means centres per class, the Nystrom forms with
``W^+`` and ``W_T^{+1/2}``. As a yardstick, ``batch kernel`` is the same smooth-L1
transfer of the N x N batch Gram matrix (what mini-batch relation methods transfer).

Goal: every variant's step within 2x the default's; the epoch-end update of the
default below one step's cost (it runs once per epoch of ~200 steps).
Variants alternate in ``--rounds`` rounds so that drifting machine load hits all alike.

Example::

    python tools/benchmarks/bench_kda_loss.py                  # GPU if any
    python tools/benchmarks/bench_kda_loss.py --device cpu --threads 1 --iters 20 --rounds 5
"""
import argparse
import time
from typing import Callable, Dict, List

import torch
import torch.nn.functional as F

import mmrazor_relkd  # noqa: F401  (compat shims + registration, before mmrazor)
from mmrazor_relkd.models.losses.kda_loss import KDALoss

VARIANTS = {
    'class means (default)': dict(),
    'random samples': dict(landmarks='random_samples'),
    'k-means, 2 per class': dict(centers_per_class=2),
    'Nystrom W^+': dict(nystrom='pinv'),
    'Nystrom W_T^(+1/2)': dict(nystrom='inv_sqrt'),
}


def _sync(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def _batch_kernel_loss(feats_s: torch.Tensor, feats_t: torch.Tensor) -> torch.Tensor:
    return F.smooth_l1_loss(feats_s @ feats_s.T, feats_t @ feats_t.T, reduction='sum')


def _timed(fn: Callable[[], None], iters: int, device: torch.device) -> float:
    fn()  # warm-up
    _sync(device)
    start = time.perf_counter()
    for _ in range(iters):
        fn()
    _sync(device)
    return (time.perf_counter() - start) / iters * 1e3


def _timed_update(loss: KDALoss, feats_s: torch.Tensor, feats_t: torch.Tensor,
                  labels: torch.Tensor) -> float:
    """One ``update_landmarks()`` after an epoch of four batches."""
    with torch.no_grad():
        for _ in range(4):
            loss(feats_s, feats_t, labels)
    _sync(feats_s.device)
    start = time.perf_counter()
    loss.update_landmarks()
    _sync(feats_s.device)
    return (time.perf_counter() - start) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch', type=int, default=256)
    parser.add_argument('--channels', type=int, default=512)
    parser.add_argument('--classes', type=int, default=100)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None,
                        help='CPU threads (1 gives stable timings on a shared machine)')
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    feats_s = torch.randn(args.batch, args.channels, device=device, requires_grad=True)
    feats_t = torch.randn(args.batch, args.channels, device=device)
    labels = torch.randint(0, args.classes, (args.batch, ), device=device)

    losses: Dict[str, KDALoss] = {}
    for name, kwargs in VARIANTS.items():
        loss = KDALoss(num_classes=args.classes, student_channels=args.channels,
                       teacher_channels=args.channels, warmup_epochs=1, **kwargs).to(device)
        for _ in range(4):  # enough samples for every class, then landmarks
            loss(feats_s, feats_t, labels)
        loss.update_landmarks()
        losses[name] = loss

    def step(name: str) -> Callable[[], None]:
        def run() -> None:
            if name == 'batch kernel':
                value = _batch_kernel_loss(feats_s, feats_t)
            else:
                value = losses[name](feats_s, feats_t, labels)
            value.backward()
            feats_s.grad = None
        return run

    names: List[str] = list(VARIANTS) + ['batch kernel']
    steps = {name: [] for name in names}
    updates = {name: [] for name in VARIANTS}
    for _ in range(args.rounds):
        for name in names:
            steps[name].append(_timed(step(name), args.iters, device))
        for name in VARIANTS:
            updates[name].append(_timed_update(losses[name], feats_s, feats_t, labels))

    base = min(steps['class means (default)'])
    print(f'KDA loss cost on {device} ({torch.__version__}, {torch.get_num_threads()} '
          f'CPU threads), batch {args.batch}, {args.channels}-d features, {args.classes} '
          f'classes; best of {args.rounds} rounds x {args.iters} steps\n')
    print('| variant | step (ms) | x default | epoch-end update (ms) |')
    print('| --- | ---: | ---: | ---: |')
    for name in names:
        best = min(steps[name])
        update = f'{min(updates[name]):.2f}' if name in updates else '-'
        print(f'| {name} | {best:.2f} | {best / base:.2f} | {update} |')


if __name__ == '__main__':
    main()
