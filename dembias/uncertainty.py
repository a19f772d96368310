"""Uncertainty tools shared by the metrics: bootstrap intervals, permutation tests, FDR control.

Every function is seeded (``numpy.random.default_rng(seed)``) so that the same inputs give the same
numbers on every machine.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "benjamini_hochberg",
    "bias_corrected_interval",
    "bootstrap_ci",
    "bootstrap_mean_ci",
    "bootstrap_resample_means",
    "permutation_test",
]


def _check_confidence(confidence: float) -> tuple[float, float]:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    alpha = 1.0 - confidence
    return 100.0 * alpha / 2.0, 100.0 * (1.0 - alpha / 2.0)


def bias_corrected_interval(
    point: float, samples: np.ndarray, *, confidence: float = 0.95
) -> tuple[float, float, bool]:
    """Bias-corrected (BC) percentile bootstrap interval of a statistic with estimate ``point``.

    Plain percentile intervals can exclude their own estimate when the statistic is bounded or
    skewed (UER = mean of max(0, p_s - p_t) is pushed up by resampling: 0.001 [0.002, 0.023]). The BC
    interval (Efron 1987) shifts the percentiles by z0 = Phi^-1(share of resamples below the estimate,
    ties counted half) and holds the estimate whenever some resamples fall on each side of it. When
    every resample lies on one side (a statistic at its bound), the interval is widened to reach the
    estimate and the third value returned is True, so the reader can be told. NaN resamples are
    ignored; returns (nan, nan, False) without any.
    """
    from scipy.stats import norm

    lo_q, hi_q = _check_confidence(confidence)
    samples = np.asarray(samples, dtype=float)
    samples = samples[~np.isnan(samples)]
    if samples.size == 0 or np.isnan(point):
        return (float("nan"), float("nan"), False)
    r = samples.size
    below = (np.count_nonzero(samples < point) + 0.5 * np.count_nonzero(samples == point)) / r
    z0 = norm.ppf(np.clip(below, 1.0 / (2 * r), 1.0 - 1.0 / (2 * r)))
    a_lo = norm.cdf(2 * z0 + norm.ppf(lo_q / 100.0))
    a_hi = norm.cdf(2 * z0 + norm.ppf(hi_q / 100.0))
    low, high = (float(x) for x in np.quantile(samples, [a_lo, a_hi]))
    widened = bool(point < low or point > high)
    return (min(low, float(point)), max(high, float(point)), widened)


def bootstrap_ci(
    statistic: Callable[[np.ndarray], float],
    n: int,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``statistic`` over ``n`` items.

    ``statistic`` receives an integer index array: one resample (with replacement) of ``range(n)``,
    and returns a float. NaN results (a resample where the statistic is undefined) are ignored; when
    every resample is NaN, or ``n == 0``, the interval is ``(nan, nan)``. The index matrix is drawn at
    once (vectorised); only the statistic is called once per resample.
    """
    lo_q, hi_q = _check_confidence(confidence)
    if n <= 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, n, size=(n_resamples, n))
    stats = np.fromiter((float(statistic(row)) for row in indices), dtype=float, count=n_resamples)
    stats = stats[~np.isnan(stats)]
    if stats.size == 0:
        return (float("nan"), float("nan"))
    low, high = np.percentile(stats, [lo_q, hi_q])
    return (float(low), float(high))


def bootstrap_resample_means(values: np.ndarray, *, n_resamples: int = 1000, seed: int = 0) -> np.ndarray:
    """Means of ``n_resamples`` bootstrap resamples of the rows of ``values`` (1-D or 2-D), vectorised.

    For a 2-D array (items x columns) the same resample of items is used for every column, so the
    result (resamples x columns) keeps the columns' joint variation. Resamples are drawn in blocks
    so memory stays bounded on large inputs; the result depends only on ``seed``.
    """
    values = np.asarray(values, dtype=float)
    n = values.shape[0]
    rng = np.random.default_rng(seed)
    flat = values.ndim == 1
    out = np.empty(n_resamples if flat else (n_resamples, values.shape[1]))
    block = max(1, min(n_resamples, 20_000_000 // max(n, 1)))
    for start in range(0, n_resamples, block):
        size = min(block, n_resamples - start)
        idx = rng.integers(0, n, size=(size, n))
        if flat:
            out[start : start + size] = values[idx].mean(axis=1)
        else:
            offsets = (idx + (np.arange(size) * n)[:, None]).ravel()
            counts = np.bincount(offsets, minlength=size * n).reshape(size, n)
            out[start : start + size] = counts @ values / n
    return out


def bootstrap_mean_ci(
    values: np.ndarray,
    *,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """(mean, low, high): the mean of ``values`` with its percentile bootstrap interval.

    NaN values are dropped first. An empty input gives ``(nan, nan, nan)``.
    """
    lo_q, hi_q = _check_confidence(confidence)
    values = np.asarray(values, dtype=float).ravel()
    values = values[~np.isnan(values)]
    if values.size == 0:
        return (float("nan"), float("nan"), float("nan"))
    means = bootstrap_resample_means(values, n_resamples=n_resamples, seed=seed)
    low, high = np.percentile(means, [lo_q, hi_q])
    return (float(values.mean()), float(low), float(high))


def permutation_test(a: np.ndarray, b: np.ndarray, *, n_permutations: int = 10000, seed: int = 0) -> float:
    """Two-sided permutation p-value for the difference in means of ``a`` and ``b``.

    The group labels are shuffled ``n_permutations`` times; p = (1 + #{|diff*| >= |diff|}) / (1 +
    n_permutations), which is never 0 (Phipson & Smyth 2010). NaNs are dropped; an empty group gives
    ``nan``. Permutations are processed in blocks so memory stays bounded.
    """
    a = np.asarray(a, dtype=float).ravel()
    b = np.asarray(b, dtype=float).ravel()
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size == 0 or b.size == 0:
        return float("nan")
    pooled = np.concatenate([a, b])
    n_a, n = a.size, pooled.size
    observed = abs(a.mean() - b.mean())
    total = pooled.sum()
    rng = np.random.default_rng(seed)
    tol = 1e-12 * max(1.0, float(np.abs(pooled).max()))
    extreme = 0
    block = max(1, min(n_permutations, 2_000_000 // max(n, 1)))
    done = 0
    while done < n_permutations:
        size = min(block, n_permutations - done)
        keys = rng.random((size, n))
        # the n_a smallest keys of each row are a uniformly random group a; argpartition finds that set in
        # linear time (the same set a full argsort would give, so the same p-value, 3-4x faster at n = 2,000)
        in_a = np.argpartition(keys, n_a - 1, axis=1)[:, :n_a]
        sum_a = pooled[in_a].sum(axis=1)
        diffs = np.abs(sum_a / n_a - (total - sum_a) / (n - n_a))
        extreme += int(np.count_nonzero(diffs >= observed - tol))
        done += size
    return float((1 + extreme) / (1 + n_permutations))


def benjamini_hochberg(p_values: Sequence[float]) -> np.ndarray:
    """Benjamini-Hochberg adjusted q-values, in the input order, monotone and capped at 1.

    q_(i) = min_{j >= i} (m / j) p_(j) over the p-values sorted ascending. NaN p-values stay NaN and
    do not count in m.
    """
    p = np.asarray(p_values, dtype=float).ravel()
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return q
    if np.any((p[ok] < 0) | (p[ok] > 1)):
        raise ValueError("p-values must lie in [0, 1]")
    order = np.argsort(p[ok], kind="mergesort")
    ranked = p[ok][order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    q[ok] = out
    return q
