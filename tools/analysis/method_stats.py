"""Statistics of a multi-seed method comparison (used by ``compare_methods.py``).

Pure functions on plain numbers, no training and no I/O:

- :func:`summarize`: mean, sample standard deviation (ddof = 1) and count of one
  method's final metrics over seeds;
- :func:`paired_gain`: a method's gain over the plain student trained with the same
  seeds, its confidence interval from Student's t distribution over the per-seed
  differences, and a verdict: ``better`` (the whole interval above 0), ``worse`` (the
  whole interval below 0) or ``within noise``.
"""
import math
from typing import Mapping, NamedTuple, Optional, Sequence

from scipy import stats

BETTER = 'better'
WORSE = 'worse'
WITHIN_NOISE = 'within noise'
TOO_FEW_SEEDS = 'n/a (needs 2 paired seeds)'


class Summary(NamedTuple):
    """Mean, sample standard deviation (``None`` for one value) and count."""
    mean: float
    std: Optional[float]
    n: int


class PairedGain(NamedTuple):
    """Mean of ``method - student`` over the seeds both have, with its confidence
    interval (``None`` with fewer than 2 seeds) and the verdict it implies."""
    mean: float
    low: Optional[float]
    high: Optional[float]
    n: int
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


def t_critical(confidence: float, dof: int) -> float:
    """The two-sided critical value ``t`` of Student's t with ``dof`` degrees of
    freedom: ``P(|T| <= t) = confidence``."""
    if not 0 < confidence < 1:
        raise ValueError(f'confidence must lie in (0, 1), got {confidence}')
    if dof < 1:
        raise ValueError(f'the t distribution needs dof >= 1, got {dof}')
    return float(stats.t.ppf(0.5 + confidence / 2, dof))


def verdict(low: Optional[float], high: Optional[float]) -> str:
    """``better`` / ``worse`` when the interval excludes 0, else ``within noise``."""
    if low is None or high is None:
        return TOO_FEW_SEEDS
    if low > 0:
        return BETTER
    if high < 0:
        return WORSE
    return WITHIN_NOISE


def paired_gain(method: Mapping[int, float], student: Mapping[int, float],
                confidence: float = 0.95) -> PairedGain:
    """The gain of ``method`` over ``student`` on the seeds both have.

    Args:
        method: seed -> final metric of the method's run.
        student: seed -> final metric of the plain student's run.
        confidence: the confidence level of the interval.

    The interval is ``mean(d) +- t * std(d) / sqrt(n)`` over the per-seed differences
    ``d``, with ``t`` the two-sided critical value of Student's t at ``n - 1`` degrees
    of freedom.
    """
    seeds = sorted(set(method) & set(student))
    if not seeds:
        raise ValueError(f'no seed in common: the method has seeds {sorted(method)}, '
                         f'the student {sorted(student)}')
    diffs = [method[seed] - student[seed] for seed in seeds]
    summary = summarize(diffs)
    if summary.std is None:
        return PairedGain(summary.mean, None, None, 1, verdict(None, None))
    half = t_critical(confidence, summary.n - 1) * summary.std / math.sqrt(summary.n)
    low, high = summary.mean - half, summary.mean + half
    return PairedGain(summary.mean, low, high, summary.n, verdict(low, high))
