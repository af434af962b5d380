"""Statistics of a multi-seed method comparison (used by ``compare_methods.py``).

Pure functions on plain numbers, no training and no I/O:

- :func:`summarize`: mean, sample standard deviation (ddof = 1) and count of one
  method's final metrics over seeds;
- :func:`paired_gain`: a method's gain over the plain student trained with the same
  seeds, its confidence interval from Student's t distribution over the per-seed
  differences, the two-sided p-value of the paired t-test, and a verdict: ``better``
  (the whole interval above 0), ``worse`` (the whole interval below 0) or ``within
  noise``, given from 3 paired seeds on;
- :func:`holm_verdicts`: the verdicts of every method of a suite corrected for the
  number of methods compared with the student (Holm's step-down procedure).

The standard deviation of the per-seed differences is floored at the metric's
resolution ``q``, the smallest step the metric can move (``100 / N`` for top-1 in % on
``N`` validation images, ``0.001`` for a metric logged to 3 decimals): see
:func:`paired_gain`.
"""
import math
from typing import Dict, Mapping, NamedTuple, Optional, Sequence

from scipy import stats

BETTER = 'better'
WORSE = 'worse'
WITHIN_NOISE = 'within noise'
MIN_SEEDS = 3
TOO_FEW_SEEDS = f'n/a (needs {MIN_SEEDS} paired seeds)'


class Summary(NamedTuple):
    """Mean, sample standard deviation (``None`` for one value) and count."""
    mean: float
    std: Optional[float]
    n: int


class PairedGain(NamedTuple):
    """Mean of ``method - student`` over the seeds both have, with its confidence
    interval and the p-value of the paired t-test (``None`` with fewer than 2 seeds),
    and the verdict they imply (``TOO_FEW_SEEDS`` with fewer than ``MIN_SEEDS``)."""
    mean: float
    low: Optional[float]
    high: Optional[float]
    n: int
    p: Optional[float]
    verdict: str


def summarize(values: Sequence[float]) -> Summary:
    """Mean, sample std (ddof = 1; ``None`` for a single value) and count."""
    n = len(values)
    if n == 0:
        raise ValueError('summarize() needs at least one value')
    mean = math.fsum(values) / n
    std = None
    if n > 1:
        std = math.sqrt(math.fsum((v - mean)**2 for v in values) / (n - 1))
    return Summary(mean, std, n)


def _check_probability(name: str, value: float) -> None:
    if not 0 < value < 1:
        raise ValueError(f'{name} must lie in (0, 1), got {value}')


def t_critical(confidence: float, dof: int) -> float:
    """The two-sided critical value ``t`` of Student's t with ``dof`` degrees of
    freedom: ``P(|T| <= t) = confidence``."""
    _check_probability('confidence', confidence)
    if dof < 1:
        raise ValueError(f'the t distribution needs dof >= 1, got {dof}')
    return float(stats.t.ppf(0.5 + confidence / 2, dof))


def verdict(low: Optional[float], high: Optional[float], n: int) -> str:
    """``better`` / ``worse`` when the interval excludes 0, else ``within noise``;
    ``TOO_FEW_SEEDS`` below ``MIN_SEEDS`` paired seeds, whatever the interval."""
    if n < MIN_SEEDS or low is None or high is None:
        return TOO_FEW_SEEDS
    if low > 0:
        return BETTER
    if high < 0:
        return WORSE
    return WITHIN_NOISE


def paired_gain(method: Mapping[int, float], student: Mapping[int, float],
                confidence: float = 0.95, resolution: float = 0.0) -> PairedGain:
    """The gain of ``method`` over ``student`` on the seeds both have.

    Args:
        method: seed -> final metric of the method's run.
        student: seed -> final metric of the plain student's run.
        confidence: the confidence level of the interval.
        resolution: ``q``, the smallest step the metric can move (>= 0; 0 sets no
            floor).

    The interval is ``mean(d) +- t * s / sqrt(n)`` over the per-seed differences
    ``d``, with ``t`` the two-sided critical value of Student's t at ``n - 1`` degrees
    of freedom and ``s = max(std(d), q)``; the p-value is that of the paired t-test
    ``T = mean(d) / (s / sqrt(n))``, two-sided (1 when ``s`` and ``mean(d)`` are both
    0, 0 when only ``s`` is).

    Why the floor: each metric is measured in steps of ``q`` (one validation image more
    or less right moves top-1 by ``100 / N``), so each difference of two of them is
    uncertain by at least one step. Differences that agree to better than that, e.g.
    the same on every seed (std 0), do not show that the gain is known more precisely
    than one step: a standard error below ``q / sqrt(n)`` is not supported by the
    data, and without the floor such a gain would be significant however small.

    The verdict needs ``MIN_SEEDS`` paired seeds: with 2 the t distribution has one
    degree of freedom and the std of 2 differences is too rough an estimate to rank
    by; the interval and p are still given from 2 seeds on, for display.
    """
    if not resolution >= 0:
        raise ValueError(f'resolution must be >= 0 (the smallest step of the metric), '
                         f'got {resolution}')
    seeds = sorted(set(method) & set(student))
    if not seeds:
        raise ValueError(f'no seed in common: the method has seeds {sorted(method)}, '
                         f'the student {sorted(student)}')
    diffs = [method[seed] - student[seed] for seed in seeds]
    summary = summarize(diffs)
    if summary.std is None:
        return PairedGain(summary.mean, None, None, 1, None, TOO_FEW_SEEDS)
    dof = summary.n - 1
    stderr = max(summary.std, resolution) / math.sqrt(summary.n)
    half = t_critical(confidence, dof) * stderr
    if stderr > 0:
        p = float(2 * stats.t.sf(abs(summary.mean) / stderr, dof))
    else:
        p = 0.0 if summary.mean != 0 else 1.0
    low, high = summary.mean - half, summary.mean + half
    return PairedGain(summary.mean, low, high, summary.n, p,
                      verdict(low, high, summary.n))


def holm_verdicts(gains: Mapping[str, PairedGain], alpha: float) -> Dict[str, str]:
    """Every method's verdict corrected for comparing all of them with the student.

    Holm's step-down procedure keeps the probability that any ``better`` / ``worse``
    of the suite is wrong (the family-wise error) at most ``alpha``, where the
    per-method verdicts keep it at ``alpha`` for each method alone. The family is every
    method with at least ``MIN_SEEDS`` paired seeds, ``m`` of them: sort their p-values
    ascending, ``p_(1) <= ... <= p_(m)``; reject the null hypothesis "no gain" for
    ``k = 1, 2, ...`` while ``p_(k) <= alpha / (m - k + 1)`` and stop at the first
    ``k`` where it does not hold. A rejected method is ``better`` or ``worse`` by the
    sign of its mean gain, the rest of the family ``within noise``, and a method with
    fewer seeds keeps ``TOO_FEW_SEEDS``.

    Args:
        gains: method name -> its :func:`paired_gain`.
        alpha: the family-wise error rate, ``1 - confidence``.
    """
    _check_probability('alpha', alpha)
    verdicts = {name: WITHIN_NOISE if gain.n >= MIN_SEEDS else TOO_FEW_SEEDS
                for name, gain in gains.items()}
    family = sorted((gain.p, name) for name, gain in gains.items() if gain.n >= MIN_SEEDS)
    for k, (p, name) in enumerate(family):
        if p > alpha / (len(family) - k):
            break
        verdicts[name] = BETTER if gains[name].mean > 0 else WORSE
    return verdicts
