"""Significance tests for two runs' values on the records both share, in plain Python.

- :func:`paired_bootstrap`: the mean of the paired differences ``b - a`` with a percentile confidence interval.
- :func:`mcnemar`: the exact McNemar test for booleans (a two-sided binomial test on the discordant pairs).
- :func:`paired_permutation`: categorical labels: a paired permutation test (each record's two labels swapped
  or not) on the chi-square statistic of the two runs' label counts; exact when the swaps are few enough to
  enumerate, else Monte Carlo.

Everything random draws from ``random.Random(seed)``, so the same values and seed give the same result on any
platform and Python version (sums are exactly rounded with ``math.fsum``).
"""

from __future__ import annotations

import itertools
import math
import random
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

DEFAULT_SEED = 0
RESAMPLES = 2000
PERMUTATIONS = 10_000
CONFIDENCE = 0.95
#: swap configurations up to which the permutation test is computed exactly rather than sampled
EXACT_LIMIT = 20_000
_RELATIVE_TIE = 1e-12  # a permuted statistic this close to the observed one counts as "at least as extreme"


@dataclass(frozen=True)
class BootstrapResult:
    """The mean paired difference ``b - a`` and its percentile confidence interval ``[low, high]``."""

    n: int
    mean_difference: float
    low: float
    high: float
    confidence: float
    resamples: int

    @property
    def significant(self) -> bool:
        """The interval excludes 0."""
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class McNemarResult:
    """Pairs true in ``a`` and false in ``b`` (``lost``), the reverse (``gained``), and the exact p-value."""

    n: int
    lost: int
    gained: int
    p_value: float


@dataclass(frozen=True)
class PermutationResult:
    """The chi-square statistic of the two runs' label counts and its permutation p-value."""

    n: int
    discordant: int
    statistic: float
    p_value: float
    exact: bool
    permutations: int  # sampled permutations (0 when exact)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile of sorted values, interpolated linearly between order statistics (numpy's default)."""
    position = (len(sorted_values) - 1) * q
    below = math.floor(position)
    above = min(below + 1, len(sorted_values) - 1)
    fraction = position - below
    return sorted_values[below] + fraction * (sorted_values[above] - sorted_values[below])


def _differences(a: Sequence[float], b: Sequence[float]) -> list[float]:
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    if not a:
        raise ValueError("no paired values")
    return [float(y) - float(x) for x, y in zip(a, b, strict=True)]


def _resample_sums(values: list[float], resamples: int, rng: random.Random) -> list[float]:
    """The sums of ``resamples`` samples of ``len(values)`` values drawn with replacement.

    When the values take few distinct values (judge grades, Likert scores, means of a few runs of a boolean),
    :func:`_grouped_sum` draws the counts per value, much faster; otherwise ``random.choices`` draws each value.
    """
    n = len(values)
    if len(set(values)) <= n // 32:
        ordered = sorted(values)
        size = 1 << (n - 1).bit_length()
        # run[i]: which block of equal values slot i is in; slots past n form their own block (-1): redrawn
        run, block = [0] * size, 0
        for i in range(1, n):
            block += ordered[i] != ordered[i - 1]
            run[i] = block
        run[n:] = [-1] * (size - n)
        return [_grouped_sum(ordered, run, n, rng) for _ in range(resamples)]
    return [math.fsum(rng.choices(values, k=n)) for _ in range(resamples)]


def _grouped_sum(ordered: list[float], run: list[int], n: int, rng: random.Random) -> float:
    """The sum of ``n`` values drawn with replacement from ``ordered``, drawn as counts per block of equal values.

    The draws are uniform over ``len(run)`` slots, a power of two: how many of a range's draws fall in its left
    half is Binomial(count, 1/2), the number of ones among ``count`` random bits. A range inside one block adds
    ``count x value``; draws that fall past ``n`` are drawn again.
    """
    parts: list[float] = []
    missing = n
    while missing:
        stack = [(0, len(run), missing)]
        missing = 0
        while stack:
            low, high, count = stack.pop()
            if run[low] == run[high - 1]:
                if run[low] < 0:
                    missing += count
                else:
                    parts.append(count * ordered[low])
                continue
            middle = (low + high) // 2
            left = rng.getrandbits(count).bit_count()
            if left:
                stack.append((low, middle, left))
            if count - left:
                stack.append((middle, high, count - left))
    return math.fsum(parts)


def paired_bootstrap(a: Sequence[float], b: Sequence[float], *, resamples: int = RESAMPLES,
                     confidence: float = CONFIDENCE, seed: int = DEFAULT_SEED) -> BootstrapResult:
    """Paired bootstrap of the mean difference ``b - a`` (records resampled with replacement, both runs'
    values kept together); the interval is the percentile interval of the resampled means."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    differences = _differences(a, b)
    n = len(differences)
    means = sorted(total / n for total in _resample_sums(differences, resamples, random.Random(seed)))
    tail = (1 - confidence) / 2
    return BootstrapResult(n, math.fsum(differences) / n, quantile(means, tail), quantile(means, 1 - tail),
                           confidence, resamples)


def mcnemar(a: Sequence[bool], b: Sequence[bool]) -> McNemarResult:
    """Exact McNemar test: under "no change", each discordant pair is as likely one way as the other, so the
    p-value is the two-sided binomial probability of a split at least as uneven as the one seen."""
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    lost = sum(1 for x, y in zip(a, b, strict=True) if x and not y)
    gained = sum(1 for x, y in zip(a, b, strict=True) if y and not x)
    return McNemarResult(len(a), lost, gained, binomial_two_sided(min(lost, gained), lost + gained))


def binomial_two_sided(k: int, n: int) -> float:
    """``min(1, 2 P(X <= k))`` for X ~ Binomial(n, 1/2), with ``k <= n / 2``, in exact integer arithmetic."""
    if n == 0:
        return 1.0
    term, total = 1, 1  # C(n, 0)
    for i in range(k):
        term = term * (n - i) // (i + 1)
        total += term
    return min(1.0, (2 * total) / (1 << n))


def _chi_square(counts_a: dict[Hashable, int], totals: dict[Hashable, int]) -> float:
    """Chi-square statistic of the 2 x k table (a's counts, b's counts), with b's counts = totals - a's: for
    two samples of equal size it is the sum of ``(a_k - b_k)^2 / (a_k + b_k)``."""
    return math.fsum((2 * counts_a.get(label, 0) - total) ** 2 / total for label, total in totals.items())


def paired_permutation(a: Sequence[Hashable], b: Sequence[Hashable], *, permutations: int = PERMUTATIONS,
                       seed: int = DEFAULT_SEED, exact_limit: int = EXACT_LIMIT) -> PermutationResult:
    """Paired permutation test of "the two runs' labels come from one distribution".

    Under the null each record's two labels are exchangeable, so each discordant pair (labels x in ``a``,
    y in ``b``) is swapped with probability 1/2. Pairs of the same (x, y) type are interchangeable: the number
    swapped of each type is Binomial(m, 1/2), which is all the statistic depends on. The p-value is exact when
    the combinations of those numbers are at most ``exact_limit``, else ``(1 + hits) / (1 + permutations)``.
    """
    if len(a) != len(b):
        raise ValueError(f"paired values need equal lengths, got {len(a)} and {len(b)}")
    counts_a = Counter(a)
    totals = counts_a + Counter(b)
    observed = _chi_square(counts_a, totals)
    threshold = observed * (1 - _RELATIVE_TIE)
    types = sorted(Counter((x, y) for x, y in zip(a, b, strict=True) if x != y).items(), key=repr)
    discordant = sum(m for _, m in types)

    def swapped(ks: Sequence[int]) -> float:
        counts = dict(counts_a)
        for ((x, y), _), k in zip(types, ks, strict=True):
            counts[x] -= k
            counts[y] = counts.get(y, 0) + k
        return _chi_square(counts, totals)

    if math.prod(m + 1 for _, m in types) <= exact_limit:
        hits = 0
        for ks in itertools.product(*(range(m + 1) for _, m in types)):
            if swapped(ks) >= threshold:
                hits += math.prod(math.comb(m, k) for (_, m), k in zip(types, ks, strict=True))
        return PermutationResult(len(a), discordant, observed, hits / (1 << discordant), True, 0)
    rng = random.Random(seed)
    hits = sum(swapped([rng.getrandbits(m).bit_count() for _, m in types]) >= threshold for _ in range(permutations))
    return PermutationResult(len(a), discordant, observed, (1 + hits) / (1 + permutations), False, permutations)
