"""Fidelity of rewrites (reformulations, translations): similarity against a null, entailment, review score.

Definitions (DESIGN.md §5, fidelity):

* **similarity**: cosine of the (L2-normalised) embeddings of the source x and the output y. With a
  multilingual embedder it is comparable across languages.
* **similarity percentile**: the share, in percent, of *null* similarities strictly below the observed
  one. The null of an output is its similarity to contributions of the same debate that are not its
  sources (all of them, or a seeded sample of ``n_null``), so the question is "is the output closer to
  its own source than to other contributions of the debate?". 100 means closer than every other
  contribution; 50 means no closer than a typical one.
* **entailment** (only with an NLI model): P(x⇒y), P(y⇒x) and their minimum; **stance flip** when
  contradiction is the most probable label in either direction.
* **review score** in [0, 1], a noisy-or of independent reasons to look at the pair::

      review = 1 - (1 - r_sem) (1 - r_flags) (1 - r_nli)
      r_sem   = 1 - percentile / 100
      r_flags = 1 - 0.5 ** (sum of flag weights)       (FLAG_WEIGHTS: polarity, negation, number,
                                                        language 1.0; entity, hedge, intensifier,
                                                        length 0.5)
      r_nli   = 1 if stance_flip else 1 - entailment_min   (0 when no NLI model is used)

  So one negation flag alone gives 0.5, a pair no closer to its source than the median contribution
  gives at least 0.5, and a stance flip gives 1.

Embeddings do not see a flipped stance ("for" and "against" the same proposal embed almost the same),
so results scored without an NLI model carry ``stance_scored=False`` and :data:`NO_STANCE_NOTE`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from dembias.small_cells import MIN_CELL, is_small_cell
from dembias.uncertainty import benjamini_hochberg, bootstrap_mean_ci, permutation_test

NO_STANCE_NOTE = (
    "stance not scored: no NLI model was configured, and embedding similarity cannot see a flipped stance "
    "(a rewrite that says the opposite can score as similar as a faithful one); read the lexical stance flags "
    "(polarity_flipped, negation_added/removed), which see only the words in their lexicons"
)

#: Weight of each flag kind (by prefix) in the review score.
FLAG_WEIGHTS: dict[str, float] = {
    "polarity": 1.0,
    "negation": 1.0,
    "language": 1.0,
    "number": 1.0,
    "opposition": 1.0,
    "entity": 0.5,
    "hedge": 0.5,
    "intensifier": 0.5,
    "length": 0.5,
}


# --------------------------------------------------------------------------------------------------
# similarity and its null


def pair_similarities(sources: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two aligned matrices of L2-normalised embeddings."""
    sources = np.asarray(sources, dtype=np.float64)
    outputs = np.asarray(outputs, dtype=np.float64)
    if sources.shape != outputs.shape:
        raise ValueError(f"shapes differ: {sources.shape} vs {outputs.shape}")
    return np.einsum("ij,ij->i", sources, outputs)


def similarity_percentile(observed: float, null: np.ndarray) -> float:
    """Percent of ``null`` values strictly below ``observed`` (in [0, 100]; NaN for an empty null)."""
    null = np.asarray(null, dtype=np.float64).ravel()
    null = null[~np.isnan(null)]
    if null.size == 0 or np.isnan(observed):
        return float("nan")
    return float(100.0 * np.count_nonzero(null < observed) / null.size)


def null_similarities(
    output_vector: np.ndarray,
    pool: np.ndarray,
    *,
    exclude: Sequence[int] = (),
    n_null: int = 500,
    seed: int = 0,
) -> np.ndarray:
    """Similarities of one output to contributions of its debate (rows of ``pool``) other than ``exclude``.

    Every eligible contribution is used when there are at most ``n_null``; else a seeded sample of
    ``n_null`` without replacement.
    """
    n = pool.shape[0]
    excluded = np.unique(np.asarray(list(exclude), dtype=np.int64))
    excluded = excluded[(excluded >= 0) & (excluded < n)]
    n_eligible = n - excluded.size
    if n_eligible > n_null:
        # the same draw as choosing from the array of eligible indices, without building it: rank r among the
        # eligible rows is row r + (number of excluded rows at or before it)
        ranks = np.sort(np.random.default_rng(seed).choice(n_eligible, size=n_null, replace=False))
        eligible = ranks + np.searchsorted(excluded - np.arange(excluded.size), ranks, side="right")
    else:
        eligible = np.setdiff1d(np.arange(n), excluded)
    # only the sampled rows are converted: converting the whole pool cost a copy of it per output
    return np.asarray(pool[eligible], dtype=np.float64) @ np.asarray(output_vector, dtype=np.float64)


# --------------------------------------------------------------------------------------------------
# review score


def flag_weight(kinds: Sequence[str]) -> float:
    """Sum of :data:`FLAG_WEIGHTS` over flag kinds (matched by the part before ``_``)."""
    return float(sum(FLAG_WEIGHTS.get(kind.split("_")[0], 0.5) for kind in kinds))


def review_score(
    *, percentile: float, flag_kinds: Sequence[str], entailment_min: float | None = None, stance_flip: bool = False
) -> float:
    """The "needs review" score in [0, 1] (formula in the module docstring)."""
    r_sem = 0.0 if np.isnan(percentile) else 1.0 - percentile / 100.0
    r_flags = 1.0 - 0.5 ** flag_weight(flag_kinds)
    if stance_flip:
        r_nli = 1.0
    elif entailment_min is None or np.isnan(entailment_min):
        r_nli = 0.0
    else:
        r_nli = 1.0 - float(entailment_min)
    return float(1.0 - (1.0 - r_sem) * (1.0 - r_flags) * (1.0 - r_nli))


# --------------------------------------------------------------------------------------------------
# aggregates and tests


AGGREGATE_COLUMNS = ["metric", "dimension", "value", "n", "n_contributors", "mean", "low", "high", "suppressed"]
TEST_COLUMNS = [
    "metric",
    "dimension",
    "group_a",
    "group_b",
    "n_a",
    "n_b",
    "mean_a",
    "mean_b",
    "difference",
    "difference_low",
    "difference_high",
    "effect_size",
    "p_value",
    "q_value",
    "family_size",
]

#: Flag kinds that say the stance may have changed (lexical, no judge model): see :mod:`dembias.fidelity.polarity`.
STANCE_FLAG_KINDS = ("polarity_flipped", "negation_added", "negation_removed")


def aggregate(
    pairs: pd.DataFrame,
    *,
    metrics: Sequence[str],
    dimensions: Sequence[str],
    min_cell: int = MIN_CELL,
    n_resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean of each metric per value of each dimension, with a bootstrap 95% interval.

    ``pairs`` has one row per output, the metric columns, the dimension columns and ``contributors``
    (a list of the source authors' pseudonyms, or of source ids when authors are unknown). A cell with
    fewer than ``min_cell`` distinct contributors is suppressed: its mean and interval are NaN. Rows whose
    dimension value is missing are left out of that dimension. The dimension ``all`` covers every row.
    """
    rows = []
    for dimension in ["all", *dimensions]:
        if dimension != "all" and dimension not in pairs.columns:
            continue
        groups = (
            [("all", pairs)]
            if dimension == "all"
            else [(str(v), g) for v, g in pairs.dropna(subset=[dimension]).groupby(dimension, sort=True)]
        )
        for value, group in groups:
            n_contributors = len({c for cs in group["contributors"] for c in cs})
            suppressed = is_small_cell(n_contributors, min_cell=min_cell)
            for metric in metrics:
                values = group[metric].to_numpy(dtype=float)
                mean = low = high = float("nan")
                if not suppressed:
                    mean, low, high = bootstrap_mean_ci(values, n_resamples=n_resamples, seed=seed)
                rows.append(
                    {
                        "metric": metric,
                        "dimension": dimension,
                        "value": value,
                        "n": len(group),
                        "n_contributors": n_contributors,
                        "mean": mean,
                        "low": low,
                        "high": high,
                        "suppressed": suppressed,
                    }
                )
    return pd.DataFrame(rows, columns=AGGREGATE_COLUMNS)


def cohen_d(a: np.ndarray, b: np.ndarray) -> float:
    """Cohen's d of ``a`` against ``b`` (difference of means over the pooled standard deviation).

    NaN when a group has fewer than two values or both are constant (no spread to scale by).
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size < 2 or b.size < 2:
        return float("nan")
    pooled = ((a.size - 1) * a.var(ddof=1) + (b.size - 1) * b.var(ddof=1)) / (a.size + b.size - 2)
    if pooled <= 0:
        return float("nan")
    return float((a.mean() - b.mean()) / np.sqrt(pooled))


def bootstrap_difference_ci(
    a: np.ndarray, b: np.ndarray, *, n_resamples: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap 95% interval of mean(a) - mean(b), each group resampled on its own."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size == 0 or b.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    diffs = a[rng.integers(0, a.size, (n_resamples, a.size))].mean(axis=1) - b[
        rng.integers(0, b.size, (n_resamples, b.size))
    ].mean(axis=1)
    low, high = np.percentile(diffs, [2.5, 97.5])
    return (float(low), float(high))


def group_tests(
    pairs: pd.DataFrame,
    *,
    metrics: Sequence[str],
    dimensions: Sequence[str],
    min_cell: int = MIN_CELL,
    n_permutations: int = 10000,
    n_resamples: int = 1000,
    seed: int = 0,
    reference: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Differences between groups: permutation p-values, Benjamini-Hochberg q-values, intervals, effect sizes.

    Within each dimension, the groups with at least ``min_cell`` contributors are compared **pairwise** (every
    pair once, ``group_a`` before ``group_b`` in sorted order), or each against ``reference[dimension]``
    when a reference value is named for that dimension (and has ``min_cell`` contributors). Never "one group
    against the rest": that answer would change with whatever else the workspace holds. Per test: n,
    means, the difference of means with a bootstrap 95% interval, Cohen's d (:func:`cohen_d`) and the
    two-sided permutation p-value. The Benjamini-Hochberg family is every test in the returned table
    (``family_size`` says how many); NaN p-values (a group without values of that metric) are not in it.
    """
    reference = dict(reference or {})
    rows = []
    for dimension in dimensions:
        if dimension not in pairs.columns:
            continue
        data = pairs.dropna(subset=[dimension])
        kept = _groups_with_min_cell(data, dimension, min_cell=min_cell)
        if len(kept) < 2:
            continue
        labels = data[dimension].astype(str)
        for group_a, group_b in _comparisons(kept, reference.get(dimension)):
            for metric in metrics:
                if metric not in data.columns:
                    continue
                a = data.loc[labels == group_a, metric].to_numpy(dtype=float)
                b = data.loc[labels == group_b, metric].to_numpy(dtype=float)
                head = {"metric": metric, "dimension": dimension, "group_a": group_a, "group_b": group_b}
                rows.append(
                    head | _difference_test(a, b, n_permutations=n_permutations, n_resamples=n_resamples, seed=seed)
                )
    return _with_q_values(pd.DataFrame(rows, columns=TEST_COLUMNS[:-2]))


def _groups_with_min_cell(data: pd.DataFrame, dimension: str, *, min_cell: int) -> list[str]:
    """The values of ``dimension`` (sorted, as strings) whose rows have at least ``min_cell`` contributors."""
    sizes = {str(v): len({c for cs in g["contributors"] for c in cs}) for v, g in data.groupby(dimension, sort=True)}
    return [v for v, n in sizes.items() if not is_small_cell(n, min_cell=min_cell)]


def _comparisons(kept: Sequence[str], reference: str | None) -> list[tuple[str, str]]:
    """Every pair of ``kept`` groups once (in order), or each group against ``reference`` (none when it is
    not kept)."""
    if reference is not None:
        return [(v, reference) for v in kept if v != reference] if reference in kept else []
    return [(a, b) for i, a in enumerate(kept) for b in kept[i + 1 :]]


def _difference_test(
    a: np.ndarray, b: np.ndarray, *, n_permutations: int, n_resamples: int, seed: int
) -> dict[str, float | int]:
    """One test of mean(a) - mean(b), NaN values left out: n, means, the difference with its bootstrap
    interval, Cohen's d and the two-sided permutation p-value."""
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    p = permutation_test(a, b, n_permutations=n_permutations, seed=seed)
    low, high = bootstrap_difference_ci(a, b, n_resamples=n_resamples, seed=seed)
    return {
        "n_a": int(a.size),
        "n_b": int(b.size),
        "mean_a": float(a.mean()) if a.size else float("nan"),
        "mean_b": float(b.mean()) if b.size else float("nan"),
        "difference": float(a.mean() - b.mean()) if a.size and b.size else float("nan"),
        "difference_low": low,
        "difference_high": high,
        "effect_size": cohen_d(a, b),
        "p_value": p,
    }


def _with_q_values(tests: pd.DataFrame) -> pd.DataFrame:
    """The tests with their Benjamini-Hochberg q-values, the family being every test with a p-value."""
    tests["q_value"] = benjamini_hochberg(tests["p_value"].to_numpy()) if len(tests) else []
    tests["family_size"] = int(tests["p_value"].notna().sum())
    return tests[TEST_COLUMNS]


#: The crossed dimension of the country x language view, per model (values "model | fr->en | FR").
PAIR_COUNTRY = "model_language_pair_country"

#: Metrics of the country x language view, in its column order.
COUNTRY_LANGUAGE_METRICS = ("similarity", "flagged", "lexical_stance_flip", "stance_flip_rate")


def pair_country_values(pairs: pd.DataFrame) -> pd.Series:
    """The crossed value "model | language_pair | country" of each pair ("unknown" for a missing country).

    The model is part of the cell so that two models (or a model and a reference control) translating the
    same contributions are never averaged together.
    """
    country = pairs["country"].where(pairs["country"].notna(), "unknown").astype(str)
    model = pairs["model"].where(pairs["model"].notna(), "unknown").astype(str).str.replace("|", "/", regex=False)
    return model + " | " + pairs["language_pair"].astype(str) + " | " + country


def country_language_table(aggregates: pd.DataFrame) -> pd.DataFrame:
    """The country x language view: one row per (model, language pair, country), metrics side by side.

    Columns: model, language_pair, country, n, n_contributors, suppressed, then ``<metric>``, ``<metric>_low``,
    ``<metric>_high`` for each of :data:`COUNTRY_LANGUAGE_METRICS` present in ``aggregates`` (fidelity
    as mean similarity, flagged share, lexical stance-flip share, NLI stance-flip share). Suppressed
    cells (under ``min_cell`` contributors) keep their n but no value.
    """
    part = aggregates[aggregates["dimension"] == PAIR_COUNTRY]
    present = [m for m in COUNTRY_LANGUAGE_METRICS if m in set(part["metric"])]
    columns = ["model", "language_pair", "country", "n", "n_contributors", "suppressed"]
    columns += [f"{m}{suffix}" for m in present for suffix in ("", "_low", "_high")]
    rows = []
    for value, group in part.groupby("value", sort=True):
        model, pair, country = str(value).rsplit(" | ", 2)
        first = group.iloc[0]
        row: dict[str, object] = {
            "model": model,
            "language_pair": pair,
            "country": country,
            "n": int(first["n"]),
            "n_contributors": int(first["n_contributors"]),
            "suppressed": bool(first["suppressed"]),
        }
        for metric in present:
            hit = group[group["metric"] == metric]
            mean, low, high = (
                (float(hit.iloc[0]["mean"]), float(hit.iloc[0]["low"]), float(hit.iloc[0]["high"]))
                if len(hit)
                else (float("nan"),) * 3
            )
            row.update({metric: mean, f"{metric}_low": low, f"{metric}_high": high})
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)
