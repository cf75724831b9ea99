"""The significance tests against scipy as the reference: exact McNemar = scipy's two-sided binomial test, the
exact paired permutation test = scipy's ``permutation_test`` enumerating every pairing, the bootstrap interval
within Monte Carlo error of scipy's paired percentile bootstrap; plus properties that hold for any values."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmotel.experiments import stats

scipy_stats = pytest.importorskip("scipy.stats")
quick = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 3000), st.integers(0, 3000), st.integers(0, 50))
def test_mcnemar_equals_scipy_binomial_test(lost, gained, same):
    a = [True] * lost + [False] * gained + [True] * same
    b = [False] * lost + [True] * gained + [True] * same
    result = stats.mcnemar(a, b)
    assert (result.lost, result.gained, result.n) == (lost, gained, lost + gained + same)
    expected = 1.0 if lost + gained == 0 else scipy_stats.binomtest(lost, lost + gained, 0.5).pvalue
    assert result.p_value == pytest.approx(expected, rel=1e-9, abs=1e-250)  # scipy underflows to 0 first


def test_mcnemar_textbook_value():
    # 3 of 13 discordant pairs one way: 2 * P(X <= 3), X ~ Bin(13, 0.5) = 2 * 378 / 8192
    result = stats.mcnemar([True] * 3 + [False] * 10, [False] * 3 + [True] * 10)
    assert result.p_value == pytest.approx(2 * 378 / 8192, rel=1e-15)


def _scipy_permutation(a, b):
    labels = sorted(set(a) | set(b))
    codes = {label: i for i, label in enumerate(labels)}

    def statistic(x, y, axis):
        x, y = np.asarray(x), np.asarray(y)
        counts_a = np.stack([(x == i).sum(axis=axis) for i in range(len(labels))], axis=-1)
        counts_b = np.stack([(y == i).sum(axis=axis) for i in range(len(labels))], axis=-1)
        total = counts_a + counts_b
        return ((counts_a - counts_b) ** 2 / np.where(total == 0, 1, total)).sum(axis=-1)

    x = np.array([codes[v] for v in a])
    y = np.array([codes[v] for v in b])
    return scipy_stats.permutation_test((x, y), statistic, permutation_type="samples", alternative="greater",
                                        n_resamples=np.inf, vectorized=True)


labels = st.sampled_from(["positive", "negative", "neutral"])


@quick
@given(st.lists(st.tuples(labels, labels), min_size=2, max_size=12))
def test_exact_permutation_equals_scipy_enumeration(pairs):
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    ours = stats.paired_permutation(a, b)
    reference = _scipy_permutation(a, b)
    assert ours.exact
    assert ours.statistic == pytest.approx(float(reference.statistic), rel=1e-12, abs=1e-12)
    assert ours.p_value == pytest.approx(float(reference.pvalue), rel=1e-9)


def test_monte_carlo_permutation_is_close_to_exact_and_reproducible():
    rng = random.Random(3)
    a = [rng.choice("xyz") for _ in range(60)]
    b = [v if rng.random() < 0.6 else rng.choice("xxyz") for v in a]
    exact = stats.paired_permutation(a, b, exact_limit=10**6)
    sampled = stats.paired_permutation(a, b, exact_limit=1, permutations=20_000, seed=5)
    assert exact.exact and not sampled.exact and sampled.permutations == 20_000
    # the Monte Carlo p-value is a binomial proportion around the exact one
    assert abs(sampled.p_value - exact.p_value) < 4 * (exact.p_value * (1 - exact.p_value) / 20_000) ** 0.5 + 1e-4
    assert stats.paired_permutation(a, b, exact_limit=1, permutations=20_000, seed=5) == sampled


def test_permutation_of_identical_labels_is_one():
    result = stats.paired_permutation(["a", "b", "c"], ["a", "b", "c"])
    assert (result.statistic, result.p_value, result.discordant) == (0.0, 1.0, 0)


def _scipy_bootstrap(a, b, resamples, seed):
    result = scipy_stats.bootstrap((np.array(a, float), np.array(b, float)),
                                   lambda x, y, axis: np.mean(y - x, axis=axis), paired=True, vectorized=True,
                                   method="percentile", n_resamples=resamples, confidence_level=0.95,
                                   rng=np.random.default_rng(seed))
    return result.confidence_interval, result.standard_error


@pytest.mark.parametrize(("n", "shape"), [(40, "skewed"), (300, "scores"), (600, "likert")])
def test_bootstrap_interval_matches_scipy(n, shape):
    rng = random.Random(n)
    if shape == "skewed":
        a = [rng.expovariate(1.0) for _ in range(n)]
        b = [x + rng.expovariate(2.0) - 0.3 for x in a]
    elif shape == "scores":
        a = [rng.random() for _ in range(n)]
        b = [min(1.0, max(0.0, x + rng.gauss(0.02, 0.2))) for x in a]
    else:
        a = [rng.randint(1, 5) for _ in range(n)]
        b = [min(5, max(1, x + rng.choice([-1, 0, 0, 1]))) for x in a]
    ours = stats.paired_bootstrap(a, b, resamples=20_000, seed=1)
    (low, high), standard_error = _scipy_bootstrap(a, b, 20_000, 1)
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    assert ours.mean_difference == pytest.approx(sum(diffs) / n, rel=1e-12, abs=1e-15)
    # two independent Monte Carlo estimates of the same quantiles: within a fraction of the standard error
    assert ours.low == pytest.approx(low, abs=0.1 * standard_error)
    assert ours.high == pytest.approx(high, abs=0.1 * standard_error)


@pytest.mark.parametrize(("n", "distinct"), [(1000, 4), (1000, 1000), (70_001, 3), (5, 5)])
def test_resampled_sums_have_the_bootstrap_distribution(n, distinct):
    # the grouped sampler (few distinct values) and random.choices (many): the sum of n draws with replacement
    # has mean n * mean(values) and variance n * var(values); and the same distribution as scipy's draws
    values = [float(i % distinct) for i in range(n)]
    resamples = 1500 if n < 10_000 else 300
    sums = stats._resample_sums(values, resamples, random.Random(2))
    centre = sum(values) / n
    sd = (n * sum((v - centre) ** 2 for v in values) / n) ** 0.5
    assert abs(sum(sums) / resamples - n * centre) < 4.5 * sd / resamples**0.5
    reference = np.random.default_rng(3).choice(np.array(values), size=(resamples, n)).sum(axis=1)
    assert scipy_stats.ks_2samp(sums, reference).pvalue > 0.001
    assert float(np.std(sums)) == pytest.approx(sd, rel=0.15)


def test_bootstrap_is_reproducible_and_depends_on_the_seed():
    rng = random.Random(9)
    a = [rng.random() for _ in range(500)]
    b = [rng.random() for _ in range(500)]
    assert stats.paired_bootstrap(a, b) == stats.paired_bootstrap(a, b)
    assert stats.paired_bootstrap(a, b, seed=1) != stats.paired_bootstrap(a, b, seed=2)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)


@quick
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=60), st.integers(0, 2**32))
def test_bootstrap_properties(pairs, seed):
    a, b = [x for x, _ in pairs], [y for _, y in pairs]
    result = stats.paired_bootstrap(a, b, resamples=200, seed=seed)
    diffs = [y - x for x, y in pairs]
    tolerance = 1e-9 * max(1.0, max(abs(d) for d in diffs))
    assert min(diffs) - tolerance <= result.low <= result.high <= max(diffs) + tolerance
    swapped = stats.paired_bootstrap(b, a, resamples=200, seed=seed)
    assert swapped.low == pytest.approx(-result.high, abs=tolerance)
    assert swapped.high == pytest.approx(-result.low, abs=tolerance)
    if len(set(diffs)) == 1:
        assert not result.significant or diffs[0] != 0


def test_bootstrap_of_no_change_is_exactly_zero():
    a = [0.1, 0.2, 0.7, 0.9] * 50
    result = stats.paired_bootstrap(a, list(a))
    assert (result.low, result.high, result.significant) == (0.0, 0.0, False)


def test_quantile_matches_numpy():
    rng = random.Random(4)
    values = sorted(rng.random() for _ in range(101))
    for q in (0.0, 0.025, 0.5, 0.975, 1.0):
        assert stats.quantile(values, q) == pytest.approx(float(np.quantile(values, q)), rel=1e-12)
