"""Combinatorial search over the 80 mAKD variants (Li & Maki, *Towards a Unified View of
Affinity-Based Knowledge Distillation*, Sec. 3.2 and 4.1, Fig. 2-3), small and on CPU.

The seed's protocol, on the embedded shapes dataset (or any image tensors):

1. Hold out a validation part of the *training* list (the paper: 40%); the val /
   test lists are not touched.
2. Train a teacher (a small CNN) with cross-entropy on the rest.
3. Reference gradient norm: the mean ``||dCE/dz||`` (z: penultimate features, first
   batch) of ``--ref-inits`` randomly initialised students (the paper found 0.07).
4. For every variant ``(affinity, normalisation, loss)``: start from the same student
   initialisation, fix ``lambda`` so that ``||d(lambda L_mAKD)/dz||`` on the first
   batch equals the reference norm, and train the student's feature extractor with
   ``lambda L_mAKD`` **alone** (the loss tested in isolation, same optimiser settings
   as classification training).
5. Score = validation accuracy of a linear probe fitted on the student's training
   features (the paper: scikit-learn ``LinearSVC``; here an L2-regularised multinomial
   logistic regression in torch, fitted with L-BFGS, so that no extra dependency is
   needed).
6. Repeat for every seed (the paper: eight teacher-student pairs); per run normalise the
   accuracies by the best variant, average them (Fig. 3's cell value) and rank.
7. Say how much of the ranking is noise: each probe accuracy on ``n`` validation images
   has the binomial standard error ``sqrt(acc (1 - acc) / n)``; a variant whose mean
   accuracy is within ``NOISE_SIGMAS`` standard errors (of the difference) of the top
   one is marked as tied with it, and a teacher whose own probe is not above chance
   (the majority-class rate) by more than that margin is reported: its features give
   nothing to rank.

Writes ``OUT/makd_search.md`` (ranked table), ``OUT/makd_search.json`` (settings, every
run, the ranking) and ``OUT/makd_search.png`` (Fig. 3-style heat map: one panel per
affinity, rows = normalisation, columns = loss).

Examples::

    python tools/generate_shapes_dataset.py --out data/shapes
    python tools/analysis/makd_search.py --data-root data/shapes --out /tmp/s --quick
    # 512 training images are few for a ranking (a small teacher overfits them: ~40%
    # validation accuracy); with 4000 it reached ~60% and ranked more cleanly, so use
    # the default 3072 or more
    python tools/analysis/makd_search.py --data-root data/shapes \
        --out work_dirs/makd_search
"""
import argparse
import itertools
import json
import os
import os.path as osp
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn

from mmrazor_relkd.functional.affinity import (AFFINITIES, AFFINITY_LOSSES, NORMALIZATIONS,
                                               affinity_distillation_loss)

Variant = Tuple[str, str, str]
ALL_VARIANTS: List[Variant] = list(itertools.product(AFFINITIES, NORMALIZATIONS,
                                                     AFFINITY_LOSSES))
# Accuracy differences within this many standard errors count as noise (about a 95%
# two-sided interval for a normal approximation).
NOISE_SIGMAS = 2.0


@dataclass
class SearchSettings:
    """Sizes and schedule of one search (``quick()``: seconds, for smoke tests)."""
    image_size: int = 32
    val_fraction: float = 0.4
    teacher_widths: Tuple[int, ...] = (32, 64, 128)
    student_widths: Tuple[int, ...] = (16, 32, 64)
    teacher_iters: int = 400
    student_iters: int = 200
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    ref_inits: int = 5
    probe_iters: int = 100
    probe_l2: float = 1e-3
    seeds: Tuple[int, ...] = (0, 1)
    variants: List[Variant] = field(default_factory=lambda: list(ALL_VARIANTS))

    @classmethod
    def quick(cls, **overrides) -> 'SearchSettings':
        values = dict(image_size=16, teacher_widths=(8, 16), student_widths=(4, 8),
                      teacher_iters=3, student_iters=2, batch_size=16, ref_inits=2,
                      probe_iters=10, seeds=(0, ))
        values.update(overrides)
        return cls(**values)


class ConvNet(nn.Module):
    """Conv-BN-ReLU stages (stride 2 after the first), global average pooling, linear
    classifier; ``features`` returns the penultimate features ``z``."""

    def __init__(self, widths: Sequence[int], num_classes: int) -> None:
        super().__init__()
        layers, in_channels = [], 3
        for index, width in enumerate(widths):
            layers += [nn.Conv2d(in_channels, width, 3, stride=1 if index == 0 else 2,
                                 padding=1, bias=False),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            in_channels = width
        self.extractor = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(in_channels, num_classes)

    def features(self, images: Tensor) -> Tensor:
        return self.extractor(images)

    def forward(self, images: Tensor) -> Tensor:
        return self.classifier(self.features(images))


def load_classification_split(data_root: str, split: str = 'train',
                              image_size: int = 32) -> Tuple[Tensor, Tensor]:
    """Images ``(N, 3, S, S)`` scaled to [-1, 1] and labels of ``cls_{split}.txt``."""
    ann_file = osp.join(data_root, 'annotations', f'cls_{split}.txt')
    if not osp.isfile(ann_file):
        raise FileNotFoundError(
            f'{ann_file} not found; generate the embedded dataset first: '
            f'python tools/generate_shapes_dataset.py --out {data_root}')
    images, labels = [], []
    with open(ann_file) as file:
        for line in file:
            if not line.strip():
                continue
            path, label = line.rsplit(maxsplit=1)
            with Image.open(osp.join(data_root, path)) as img:
                img = img.convert('RGB').resize((image_size, image_size), Image.BILINEAR)
                images.append(np.asarray(img, dtype=np.float32))
            labels.append(int(label))
    pixels = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    return pixels / 127.5 - 1.0, torch.tensor(labels)


def _batches(num: int, batch_size: int, iters: int, gen: torch.Generator):
    """``iters`` index batches from reshuffled epochs."""
    order = torch.randperm(num, generator=gen)
    pos = 0
    for _ in range(iters):
        if pos + batch_size > num:
            order, pos = torch.randperm(num, generator=gen), 0
        yield order[pos:pos + batch_size]
        pos += batch_size


def _sgd(model: nn.Module, settings: SearchSettings) -> torch.optim.Optimizer:
    return torch.optim.SGD(model.parameters(), lr=settings.lr, momentum=settings.momentum,
                           weight_decay=settings.weight_decay)


def train_teacher(images: Tensor, labels: Tensor, num_classes: int,
                  settings: SearchSettings, seed: int) -> ConvNet:
    """The teacher: a wider ConvNet trained with cross-entropy."""
    torch.manual_seed(seed)
    teacher = ConvNet(settings.teacher_widths, num_classes)
    optimizer = _sgd(teacher, settings)
    gen = torch.Generator().manual_seed(seed)
    for idx in _batches(len(images), settings.batch_size, settings.teacher_iters, gen):
        loss = F.cross_entropy(teacher(images[idx]), labels[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return teacher.eval()


def feature_grad_norm(loss_fn, model: ConvNet, images: Tensor) -> float:
    """``||d loss_fn(z) / dz||`` at the model's current parameters."""
    z = model.features(images)
    (grad,) = torch.autograd.grad(loss_fn(z), z)
    return grad.norm().item()


def reference_grad_norm(images: Tensor, labels: Tensor, num_classes: int,
                        settings: SearchSettings, seed: int) -> float:
    """Mean initial ``||dCE/dz||`` of randomly initialised students (step 3)."""
    norms = []
    for init in range(settings.ref_inits):
        torch.manual_seed(seed * 1000 + init)
        student = ConvNet(settings.student_widths, num_classes).train()
        norms.append(feature_grad_norm(
            lambda z: F.cross_entropy(student.classifier(z), labels), student, images))
    return float(np.mean(norms))


def linear_probe_accuracy(train_feats: Tensor, train_labels: Tensor, val_feats: Tensor,
                          val_labels: Tensor, num_classes: int,
                          settings: SearchSettings) -> float:
    """Validation accuracy of an L2-regularised multinomial logistic regression fitted
    on standardised training features (float64, L-BFGS; deterministic)."""
    train_feats, val_feats = train_feats.double(), val_feats.double()
    mean, std = train_feats.mean(0), train_feats.std(0).clamp_min(1e-6)
    x_train, x_val = (train_feats - mean) / std, (val_feats - mean) / std
    weight = torch.zeros(x_train.shape[1], num_classes, dtype=torch.float64,
                         requires_grad=True)
    bias = torch.zeros(num_classes, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=settings.probe_iters,
                                  line_search_fn='strong_wolfe')

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = (F.cross_entropy(x_train @ weight + bias, train_labels)
                + settings.probe_l2 * weight.square().sum())
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        predictions = (x_val @ weight + bias).argmax(1)
    return (predictions == val_labels).double().mean().item()


def binomial_stderr(accuracy: float, num: int) -> float:
    """Standard error ``sqrt(acc (1 - acc) / n)`` of an accuracy measured on ``num``
    independent samples."""
    if num < 1:
        raise ValueError(f'an accuracy needs at least one sample, got num={num}')
    return float(np.sqrt(accuracy * (1.0 - accuracy) / num))


def within_noise(first: float, first_se: float, second: float, second_se: float) -> bool:
    """Whether two independent accuracies differ by at most ``NOISE_SIGMAS`` standard
    errors of their difference."""
    return abs(first - second) <= NOISE_SIGMAS * float(np.hypot(first_se, second_se))


@torch.no_grad()
def _features(model: ConvNet, images: Tensor) -> Tensor:
    return model.eval().features(images)


def distil_variant(variant: Variant, student_init: Dict[str, Tensor], teacher: ConvNet,
                   images: Tensor, num_classes: int, target_norm: float,
                   settings: SearchSettings, seed: int) -> Tuple[ConvNet, float]:
    """Train the student's feature extractor with ``lambda * L_mAKD`` only (step 4);
    returns the student and the fixed ``lambda``."""
    student = ConvNet(settings.student_widths, num_classes)
    student.load_state_dict(student_init)
    student.train()
    affinity, normalize, loss = variant

    def makd(z: Tensor, idx: Tensor) -> Tensor:
        with torch.no_grad():
            z_t = teacher.features(images[idx])
        return affinity_distillation_loss(z, z_t, affinity, normalize, loss)

    gen = torch.Generator().manual_seed(seed)
    batches = list(_batches(len(images), settings.batch_size, settings.student_iters, gen))
    norm = feature_grad_norm(lambda z: makd(z, batches[0]), student, images[batches[0]])
    lam = target_norm / max(norm, 1e-12)
    optimizer = torch.optim.SGD(student.extractor.parameters(), lr=settings.lr,
                                momentum=settings.momentum,
                                weight_decay=settings.weight_decay)
    for idx in batches:
        value = lam * makd(student.features(images[idx]), idx)
        optimizer.zero_grad()
        value.backward()
        optimizer.step()
    return student, lam


def run_search(images: Tensor, labels: Tensor, settings: SearchSettings,
               log=print) -> Dict:
    """The search on in-memory images ``(N, 3, S, S)`` and labels ``(N,)``: returns
    ``dict(runs=[...], ranking=[...], references=[...])``."""
    num_classes = int(labels.max()) + 1
    runs, references = [], []
    for seed in settings.seeds:
        gen = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(images), generator=gen)
        num_val = max(1, int(round(settings.val_fraction * len(images))))
        val_idx, train_idx = order[:num_val], order[num_val:]
        x_train, y_train = images[train_idx], labels[train_idx]
        x_val, y_val = images[val_idx], labels[val_idx]

        teacher = train_teacher(x_train, y_train, num_classes, settings, seed)
        first = x_train[:settings.batch_size]
        target_norm = reference_grad_norm(first, y_train[:settings.batch_size],
                                          num_classes, settings, seed)
        torch.manual_seed(seed)
        student_init = ConvNet(settings.student_widths, num_classes).state_dict()

        def probe(model: ConvNet) -> float:
            return linear_probe_accuracy(_features(model, x_train), y_train,
                                         _features(model, x_val), y_val, num_classes,
                                         settings)

        untrained = ConvNet(settings.student_widths, num_classes)
        untrained.load_state_dict(student_init)
        chance = torch.bincount(y_val, minlength=num_classes).max().item() / num_val
        references.append(dict(seed=seed, target_grad_norm=target_norm,
                               teacher_probe=probe(teacher),
                               untrained_student_probe=probe(untrained),
                               num_val=num_val, chance=chance))
        log(f'seed {seed}: reference ||dCE/dz|| = {target_norm:.4g}, teacher probe '
            f'{references[-1]["teacher_probe"]:.3f}, untrained student probe '
            f'{references[-1]["untrained_student_probe"]:.3f}, chance {chance:.3f} '
            f'({num_val} validation images)')
        for variant in settings.variants:
            student, lam = distil_variant(variant, student_init, teacher, x_train,
                                          num_classes, target_norm, settings, seed)
            runs.append(dict(seed=seed, variant=list(variant), lam=lam,
                             accuracy=probe(student), num_val=num_val))
            log(f'seed {seed} {"-".join(variant):>12}: lambda {lam:.4g}, probe '
                f'accuracy {runs[-1]["accuracy"]:.3f}')
    return dict(runs=runs, ranking=rank_variants(runs), references=references)


def rank_variants(runs: Sequence[Dict]) -> List[Dict]:
    """Per-variant mean accuracy and mean normalised accuracy (accuracy over the best
    variant of the same seed, Fig. 3), best first.

    Each row also has ``stderr``, the binomial standard error of ``mean_accuracy`` (the
    runs' errors combined), and ``tied_with_top``: whether its mean accuracy is within
    noise of the first row's (:func:`within_noise`)."""
    best = {}
    for run in runs:
        best[run['seed']] = max(best.get(run['seed'], 0.0), run['accuracy'])
    by_variant: Dict[Tuple[str, ...], List[Dict]] = {}
    for run in runs:
        by_variant.setdefault(tuple(run['variant']), []).append(run)
    ranking = []
    for variant, items in by_variant.items():
        acc = [r['accuracy'] for r in items]
        norm = [r['accuracy'] / best[r['seed']] if best[r['seed']] > 0 else 0.0
                for r in items]
        errors = [binomial_stderr(r['accuracy'], r['num_val']) for r in items]
        ranking.append(dict(variant=list(variant), mean_accuracy=float(np.mean(acc)),
                            std_accuracy=float(np.std(acc)),
                            stderr=float(np.sqrt(np.sum(np.square(errors)))) / len(items),
                            normalized_accuracy=float(np.mean(norm)),
                            mean_lambda=float(np.mean([r['lam'] for r in items]))))
    ranking.sort(key=lambda r: (-r['normalized_accuracy'], -r['mean_accuracy'],
                                r['variant']))
    top = ranking[0] if ranking else None
    for rank, row in enumerate(ranking, 1):
        row['rank'] = rank
        row['tied_with_top'] = within_noise(row['mean_accuracy'], row['stderr'],
                                            top['mean_accuracy'], top['stderr'])
    return ranking


def noise_report(result: Dict) -> List[str]:
    """Sentences that say which part of the ranking is noise."""
    ranking, refs = result['ranking'], result['references']
    if not ranking:
        return []
    num_val = sum(r['num_val'] for r in refs)
    teacher = float(np.mean([r['teacher_probe'] for r in refs]))
    teacher_se = binomial_stderr(teacher, num_val)
    chance = float(np.mean([r['chance'] for r in refs]))
    tied = sum(row['tied_with_top'] for row in ranking)
    top = ranking[0]
    lines = [f"Noise: each probe accuracy is measured on {num_val // len(refs)} "
             f"validation images per seed; ± is its binomial standard error. {tied} of "
             f"{len(ranking)} variants are within {NOISE_SIGMAS:g} standard errors of the "
             f"top one ({top['mean_accuracy']:.3f} ± {top['stderr']:.3f}), marked "
             "'tied': their order is noise."]
    if teacher - chance <= NOISE_SIGMAS * teacher_se:
        lines.append(
            f'WARNING: the teacher\'s own probe accuracy ({teacher:.3f} ± '
            f'{teacher_se:.3f}) is not above chance ({chance:.3f}, the majority-class '
            f'rate) by more than {NOISE_SIGMAS:g} standard errors: its features hold '
            'nothing to distil, so this search ranks nothing. Train longer on more data '
            '(without --quick; see the examples in the module docstring).')
    return lines


def markdown_table(result: Dict) -> str:
    lines = ['| rank | affinity | normalisation | loss | normalised acc. | '
             'probe acc. ± s.e. | std over seeds | tied with #1 | lambda |',
             '| ---: | --- | --- | --- | ---: | ---: | ---: | --- | ---: |']
    for row in result['ranking']:
        a, n, l = row['variant']
        lines.append(f"| {row['rank']} | {a} | {n} | {l} | "
                     f"{row['normalized_accuracy']:.3f} | {row['mean_accuracy']:.3f} ± "
                     f"{row['stderr']:.3f} | {row['std_accuracy']:.3f} | "
                     f"{'tied' if row['tied_with_top'] else 'no'} | "
                     f"{row['mean_lambda']:.3g} |")
    refs = result['references']
    lines += ['', 'Linear probe of the teacher: '
              f"{np.mean([r['teacher_probe'] for r in refs]):.3f}; of the untrained "
              f"student: {np.mean([r['untrained_student_probe'] for r in refs]):.3f}; "
              f"chance (majority class): {np.mean([r['chance'] for r in refs]):.3f}; "
              f"reference ||dCE/dz||: {np.mean([r['target_grad_norm'] for r in refs]):.4g}.",
              '', *noise_report(result)]
    return '\n'.join(lines) + '\n'


def plot_heatmap(ranking: Sequence[Dict], path: str) -> None:
    """Fig. 3: one panel per affinity, rows = normalisation, columns = loss, cell =
    mean normalised accuracy (blank where a variant was not run)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    values = {tuple(r['variant']): r['normalized_accuracy'] for r in ranking}
    grid = np.full((len(AFFINITIES), len(NORMALIZATIONS), len(AFFINITY_LOSSES)), np.nan)
    for (a, n, l), value in values.items():
        grid[AFFINITIES.index(a), NORMALIZATIONS.index(n), AFFINITY_LOSSES.index(l)] = value
    low = np.nanmin(grid) if np.isfinite(grid).any() else 0.0
    fig, axes = plt.subplots(1, len(AFFINITIES), figsize=(3.2 * len(AFFINITIES), 3.4),
                             sharey=True)
    for ax, affinity, panel in zip(axes, AFFINITIES, grid):
        image = ax.imshow(panel, vmin=low, vmax=1.0, cmap='viridis')
        ax.set_title(f'affinity {affinity.upper()}')
        ax.set_xticks(range(len(AFFINITY_LOSSES)), [l.upper() for l in AFFINITY_LOSSES])
        ax.set_yticks(range(len(NORMALIZATIONS)),
                      ['noN' if n == 'none' else n.upper() for n in NORMALIZATIONS])
        ax.set_xlabel('loss')
        for (row, col), value in np.ndenumerate(panel):
            if np.isfinite(value):
                ax.text(col, row, f'{value:.2f}', ha='center', va='center', fontsize=7,
                        color='white' if value < (low + 1.0) / 2 else 'black')
    axes[0].set_ylabel('normalisation')
    fig.colorbar(image, ax=list(axes), shrink=0.8, label='normalised probe accuracy')
    fig.savefig(path, dpi=120, bbox_inches='tight')
    plt.close(fig)


def write_report(result: Dict, settings: SearchSettings, out_dir: str) -> Dict[str, str]:
    """Write the Markdown table, the json and the heat map; returns their paths."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {ext: osp.join(out_dir, f'makd_search.{ext}') for ext in ('md', 'json', 'png')}
    with open(paths['md'], 'w') as file:
        file.write(markdown_table(result))
    with open(paths['json'], 'w') as file:
        json.dump(dict(settings=asdict(settings), **result), file, indent=1)
    plot_heatmap(result['ranking'], paths['png'])
    return paths


def parse_variants(text: Optional[str]) -> List[Variant]:
    """``'cs-l2-sl1,ip-l2-l2'`` -> variants (``None``: all 80)."""
    if not text:
        return list(ALL_VARIANTS)
    variants = []
    for item in text.split(','):
        parts = tuple(item.strip().split('-'))
        if parts not in ALL_VARIANTS:
            raise ValueError(f'unknown variant {item!r}: write affinity-normalisation-loss '
                             f'with affinity in {AFFINITIES}, normalisation in '
                             f'{NORMALIZATIONS}, loss in {AFFINITY_LOSSES}, e.g. cs-l2-sl1')
        variants.append(parts)
    return variants


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--data-root', default='data/shapes',
                        help='embedded dataset root (annotations/cls_train.txt)')
    parser.add_argument('--out', default='work_dirs/makd_search', help='output folder')
    parser.add_argument('--quick', action='store_true',
                        help='tiny models / images and a few iterations (seconds): a '
                        'check that the search runs, its ranking is noise')
    parser.add_argument('--variants', help='comma-separated subset, e.g. cs-l2-sl1,ip-l2-l2')
    parser.add_argument('--seeds', type=int, nargs='+', help='seeds (runs to average)')
    parser.add_argument('--student-iters', type=int, help='iterations per variant')
    parser.add_argument('--teacher-iters', type=int, help='teacher iterations')
    parser.add_argument('--max-images', type=int,
                        help='use only the first N training images')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> Dict[str, str]:
    args = parse_args(argv)
    overrides = dict(variants=parse_variants(args.variants))
    for key in ('student_iters', 'teacher_iters'):
        if getattr(args, key) is not None:
            overrides[key] = getattr(args, key)
    if args.seeds:
        overrides['seeds'] = tuple(args.seeds)
    settings = (SearchSettings.quick(**overrides) if args.quick
                else SearchSettings(**overrides))
    if args.quick:
        torch.set_num_threads(1)  # tiny convolutions: threads only add overhead
    images, labels = load_classification_split(args.data_root, 'train',
                                               settings.image_size)
    if args.max_images:
        images, labels = images[:args.max_images], labels[:args.max_images]
    start = time.time()
    result = run_search(images, labels, settings)
    paths = write_report(result, settings, args.out)
    print(markdown_table(result))
    print(f'{len(result["runs"])} runs in {time.time() - start:.1f} s; wrote '
          f'{", ".join(paths.values())}')
    return paths


if __name__ == '__main__':
    main()
