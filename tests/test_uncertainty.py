"""Bootstrap intervals, permutation tests and Benjamini-Hochberg, on hand-checked cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dembias.uncertainty import (
    benjamini_hochberg,
    bootstrap_ci,
    bootstrap_mean_ci,
    bootstrap_resample_means,
    permutation_test,
)


def test_bootstrap_mean_ci_of_a_constant_is_a_point():
    assert bootstrap_mean_ci(np.full(30, 0.25)) == (0.25, 0.25, 0.25)


def test_bootstrap_mean_ci_of_a_coin_matches_the_normal_approximation():
    values = np.array([0.0, 1.0] * 50)
    mean, low, high = bootstrap_mean_ci(values, n_resamples=2000, seed=1)
    assert mean == 0.5
    # normal approximation: 0.5 -/+ 1.96 * sqrt(0.25 / 100) = 0.402 .. 0.598
    assert 0.38 <= low <= 0.42
    assert 0.58 <= high <= 0.62


def test_bootstrap_is_seeded():
    values = np.random.default_rng(3).normal(size=40)
    assert bootstrap_mean_ci(values, seed=7) == bootstrap_mean_ci(values, seed=7)
    assert bootstrap_mean_ci(values, seed=7) != bootstrap_mean_ci(values, seed=8)


def test_bootstrap_ci_draws_the_same_resamples_as_the_vectorised_mean():
    values = np.random.default_rng(0).exponential(size=25)
    low, high = bootstrap_ci(lambda idx: values[idx].mean(), len(values), n_resamples=500, seed=4)
    _, low_v, high_v = bootstrap_mean_ci(values, n_resamples=500, seed=4)
    assert low == pytest.approx(low_v)
    assert high == pytest.approx(high_v)


def test_bootstrap_ci_ignores_undefined_resamples_and_handles_empty_input():
    values = np.array([0.0, 0.0, 1.0])
    low, high = bootstrap_ci(lambda idx: np.nan if values[idx].sum() == 0 else values[idx].mean(), 3, seed=0)
    assert 0.0 < low <= high <= 1.0
    assert all(np.isnan(bootstrap_ci(lambda idx: 1.0, 0)))
    assert all(np.isnan(bootstrap_mean_ci(np.array([]))))


def test_resample_means_of_columns_share_the_resample():
    values = np.random.default_rng(1).normal(size=(50, 1))
    both = np.hstack([values, 2 * values])
    means = bootstrap_resample_means(both, n_resamples=300, seed=2)
    assert means.shape == (300, 2)
    np.testing.assert_allclose(means[:, 1], 2 * means[:, 0])


def test_permutation_test_of_equal_samples_is_one():
    assert permutation_test(np.array([1.0, 2, 3]), np.array([3.0, 2, 1]), n_permutations=200) == 1.0


def test_permutation_test_matches_the_exact_p_value():
    # 20 equally likely splits of {1..6} into two triples; |diff| >= 3 only for {1,2,3} | {4,5,6} and back.
    p = permutation_test(np.array([1.0, 2, 3]), np.array([4.0, 5, 6]), n_permutations=10000, seed=0)
    assert p == pytest.approx(0.1, abs=0.015)


def test_permutation_test_separated_groups_and_empty():
    p = permutation_test(np.zeros(12), np.ones(12), n_permutations=2000, seed=0)
    assert p == pytest.approx(1 / 2001)
    assert np.isnan(permutation_test(np.array([]), np.ones(3)))


def _permutation_p_by_full_sort(a: np.ndarray, b: np.ndarray, *, n_permutations: int, seed: int) -> float:
    """The definition, written plainly: group a is the ``len(a)`` smallest of ``n`` random keys (a full sort)."""
    pooled = np.concatenate([a, b])
    rng = np.random.default_rng(seed)
    keys = rng.random((n_permutations, pooled.size))
    sum_a = pooled[np.argsort(keys, axis=1)[:, : a.size]].sum(axis=1)
    diffs = np.abs(sum_a / a.size - (pooled.sum() - sum_a) / b.size)
    tol = 1e-12 * max(1.0, float(np.abs(pooled).max()))
    return (1 + int(np.count_nonzero(diffs >= abs(a.mean() - b.mean()) - tol))) / (1 + n_permutations)


@pytest.mark.parametrize(("n_a", "n_b", "seed"), [(1, 9, 0), (5, 5, 1), (30, 7, 2), (200, 350, 3)])
def test_permutation_test_draws_the_same_groups_as_a_full_sort(n_a, n_b, seed):
    # ties (rounded values) and unequal sizes; the p-value must not depend on how group a is picked out of the keys
    rng = np.random.default_rng(seed)
    a, b = np.round(rng.normal(0.2, 1, n_a), 1), np.round(rng.normal(0, 1, n_b), 1)
    assert permutation_test(a, b, n_permutations=3000, seed=seed) == _permutation_p_by_full_sort(
        a, b, n_permutations=3000, seed=seed
    )


def test_benjamini_hochberg_by_hand():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4/1, x4/2, x4/3, x4/4 = 0.02, 0.02, 0.04, 0.04 (already monotone)
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.04, 0.03, 0.005]), [0.02, 0.04, 0.04, 0.02])
    # 0.9 * 2 = 1.8 is brought down to the next q (0.95) by monotonicity
    np.testing.assert_allclose(benjamini_hochberg([0.9, 0.95]), [0.95, 0.95])
    q = benjamini_hochberg([0.2, np.nan, 0.1])
    np.testing.assert_allclose(q, [0.2, np.nan, 0.2])
    with pytest.raises(ValueError):
        benjamini_hochberg([1.5])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_benjamini_hochberg_properties(ps):
    q = benjamini_hochberg(ps)
    p = np.asarray(ps)
    assert np.all(q >= p - 1e-12)
    assert np.all(q <= 1.0)
    order = np.argsort(p, kind="mergesort")
    assert np.all(np.diff(q[order]) >= -1e-12)
