"""Interactions per slice (language, country, cluster, topic, vote group, and ``all``): rates, pulls, flags.

* :func:`interaction_report`: the mean of every per-interaction score per slice (the ``report`` table);
* :func:`rate_table`: acceptance, edit and rejection rates with Wilson intervals (``rates``);
* :func:`pull_table`: the mean pull with a bootstrap interval, and its difference from the other
  interactions with a permutation p-value (``pull``);
* :func:`flagged_table`: the suggestions with fidelity flags, and whether the citizen undid them (``flagged``).

A slice with fewer than ``min_cell`` distinct contributors (authors, else contributions) is suppressed: its
counts are kept, its rates and means are not (:mod:`dembias.small_cells`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dembias.fidelity.lexical import lexical_flags
from dembias.small_cells import MIN_CELL, is_small_cell

REPORT_DIMENSIONS = ("language", "country", "cluster")

REPORT_COLUMNS = [
    "dimension",
    "value",
    "n",
    "n_contributors",
    "suppressed",
    "acceptance_rate",
    "edit_rate",
    "rejection_rate",
    "suggestion_flag_rate",
    "suggestion_negation_rate",
    "suggestion_similarity",
    "pull_chars",
    "pull_embedding",
]

SCORE_DIMENSIONS = ("language", "country", "topic", "vote_group")

RATE_COLUMNS = [
    "dimension",
    "value",
    "n",
    "n_contributors",
    "suppressed",
    *(f"{name}{suffix}" for name in ("acceptance", "edit", "rejection") for suffix in ("_rate", "_low", "_high")),
]

PULL_COLUMNS = [
    "dimension",
    "value",
    "metric",
    "n",
    "n_contributors",
    "suppressed",
    "mean",
    "low",
    "high",
    "difference",
    "difference_low",
    "difference_high",
    "p_value",
]


def _contributors(group: pd.DataFrame) -> int:
    """Distinct contributors of a slice: authors, else contributions (the rule of :func:`interaction_report`)."""
    return len(
        {
            a if isinstance(a, str) else f"contribution:{c}"
            for a, c in zip(group["author_pid"], group["contribution_id"], strict=True)
        }
    )


def _slice_row(dimension: str, value: str, group: pd.DataFrame, *, min_cell: int) -> dict[str, Any]:
    """The head of one slice's row: its dimension and value, interactions, distinct contributors, and whether it is
    a small cell (its rates are then withheld)."""
    n_contributors = _contributors(group)
    return {
        "dimension": dimension,
        "value": value,
        "n": len(group),
        "n_contributors": n_contributors,
        "suppressed": is_small_cell(n_contributors, min_cell=min_cell),
    }


def _slices(scored: pd.DataFrame, dimensions: Sequence[str]) -> list[tuple[str, str, pd.DataFrame]]:
    out: list[tuple[str, str, pd.DataFrame]] = [("all", "all", scored)]
    for dimension in dimensions:
        if dimension not in scored.columns:
            continue
        known = scored.dropna(subset=[dimension])
        out.extend((dimension, str(v), g) for v, g in known.groupby(known[dimension].astype(str), sort=True))
    return out


def interaction_report(
    scored: pd.DataFrame, *, dimensions: Sequence[str] = REPORT_DIMENSIONS, min_cell: int = MIN_CELL
) -> pd.DataFrame:
    """Rates and means per value of each dimension (and ``all``); slices under ``min_cell`` contributors suppressed."""
    rows = []
    metrics = {
        "acceptance_rate": "accepted",
        "edit_rate": "edited",
        "rejection_rate": "rejected",
        "suggestion_flag_rate": "flagged",
        "suggestion_negation_rate": "negation_flagged",
        "suggestion_similarity": "suggestion_similarity",
        "pull_chars": "pull_chars",
        "pull_embedding": "pull_embedding",
    }
    for dimension in ["all", *dimensions]:
        if dimension == "all":
            groups = [("all", scored)]
        else:
            groups = [(str(v), g) for v, g in scored.dropna(subset=[dimension]).groupby(dimension, sort=True)]
        for value, group in groups:
            row = _slice_row(dimension, value, group, min_cell=min_cell)
            suppressed = row["suppressed"]
            for name, column in metrics.items():
                values = group[column].to_numpy(dtype=float)
                values = values[~np.isnan(values)]
                row[name] = float("nan") if suppressed or values.size == 0 else float(values.mean())
            rows.append(row)
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (``scipy.stats.binomtest``); ``(nan, nan)`` when ``n == 0``."""
    from scipy.stats import binomtest

    if n <= 0:
        return (float("nan"), float("nan"))
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


def rate_table(
    scored: pd.DataFrame,
    *,
    dimensions: Sequence[str] = SCORE_DIMENSIONS,
    min_cell: int = MIN_CELL,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Acceptance, edit and rejection rates with Wilson intervals per slice; slices under ``min_cell`` contributors
    are kept with their counts but no rate (``suppressed``)."""
    rows = []
    for dimension, value, group in _slices(scored, dimensions):
        row = _slice_row(dimension, value, group, min_cell=min_cell)
        suppressed = row["suppressed"]
        for name, outcome in (("acceptance", "accepted"), ("edit", "edited"), ("rejection", "rejected")):
            hits = int((group["outcome"] == outcome).sum())
            low, high = wilson_interval(hits, len(group), confidence=confidence)
            nan = float("nan")
            row[f"{name}_rate"] = nan if suppressed else hits / len(group)
            row[f"{name}_low"] = nan if suppressed else low
            row[f"{name}_high"] = nan if suppressed else high
        rows.append(row)
    return pd.DataFrame(rows, columns=RATE_COLUMNS)


#: The pull columns of a slice with no interval (suppressed, no pull, or no rest to compare with).
_NO_PULL = dict.fromkeys(
    ("mean", "low", "high", "difference", "difference_low", "difference_high", "p_value"), float("nan")
)


def _pulls(frame: pd.DataFrame, metric: str) -> np.ndarray:
    """The pulls of ``metric`` in ``frame``, NaN (the suggestion equals the draft) left out."""
    values = frame[metric].to_numpy(dtype=float)
    return values[~np.isnan(values)]


def _pull_interval(inside: np.ndarray, *, n_resamples: int, seed: int) -> dict[str, float]:
    """The slice's mean pull and its percentile bootstrap interval."""
    from dembias.uncertainty import bootstrap_mean_ci

    mean, low, high = bootstrap_mean_ci(inside, n_resamples=n_resamples, seed=seed)
    return {"mean": mean, "low": low, "high": high}


def _pull_difference(
    inside: np.ndarray,
    rest: np.ndarray,
    *,
    n_resamples: int,
    n_permutations: int,
    seed: int,
    position: int,
    quantiles: tuple[float, float],
) -> dict[str, float]:
    """Slice minus rest: the difference of mean pulls, its bootstrap interval and its permutation p-value."""
    from dembias.uncertainty import bootstrap_resample_means, permutation_test

    a = bootstrap_resample_means(inside, n_resamples=n_resamples, seed=seed + 2 * position + 1)
    b = bootstrap_resample_means(rest, n_resamples=n_resamples, seed=seed + 2 * position + 2)
    low, high = (float(x) for x in np.percentile(a - b, list(quantiles)))
    return {
        "difference": float(inside.mean() - rest.mean()),
        "difference_low": low,
        "difference_high": high,
        "p_value": permutation_test(inside, rest, n_permutations=n_permutations, seed=seed + position),
    }


def pull_table(
    scored: pd.DataFrame,
    *,
    dimensions: Sequence[str] = SCORE_DIMENSIONS,
    min_cell: int = MIN_CELL,
    seed: int = 0,
    n_resamples: int = 2000,
    n_permutations: int = 5000,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Mean pull per slice with a percentile bootstrap interval, and its difference from the other
    interactions (slice minus rest) with a bootstrap interval and a permutation p-value.

    Both ``pull_chars`` and, when an embedder scored the log, ``pull_embedding``. NaN pulls (the suggestion
    equals the draft) are left out. Every resample is seeded from ``seed`` and the slice's position. The
    difference is left out for ``all`` and where the rest is a small cell.
    """
    from dembias.uncertainty import _check_confidence

    quantiles = _check_confidence(confidence)
    metrics = [m for m in ("pull_chars", "pull_embedding") if m in scored and scored[m].notna().any()]
    rows = []
    for position, (dimension, value, group) in enumerate(_slices(scored, dimensions)):
        head = _slice_row(dimension, value, group, min_cell=min_cell)
        rest_frame = scored.drop(index=group.index)
        comparable = dimension != "all" and not is_small_cell(_contributors(rest_frame), min_cell=min_cell)
        for metric in metrics:
            inside, rest = _pulls(group, metric), _pulls(rest_frame, metric)
            row: dict[str, Any] = {**head, "metric": metric, "n": int(inside.size), **_NO_PULL}
            if not head["suppressed"] and inside.size:
                row.update(_pull_interval(inside, n_resamples=n_resamples, seed=seed + position))
                if comparable and rest.size:
                    row.update(
                        _pull_difference(
                            inside,
                            rest,
                            n_resamples=n_resamples,
                            n_permutations=n_permutations,
                            seed=seed,
                            position=position,
                            quantiles=quantiles,
                        )
                    )
            rows.append(row)
    return pd.DataFrame(rows, columns=PULL_COLUMNS)


def flagged_table(scored: pd.DataFrame, rates: pd.DataFrame) -> pd.DataFrame:
    """The suggestions with fidelity flags (draft -> suggestion), and whether the citizen undid them.

    The final text is checked against the draft with the same flags (:func:`dembias.fidelity.lexical.lexical_flags`):
    a flag of the suggestion is ``undone`` when the draft -> final comparison no longer raises that kind.
    ``undone`` is True when every kind was undone. The texts of interactions whose language or country cell
    is suppressed in ``rates`` are withheld (:func:`dembias.small_cells.withheld_quotes`).
    """
    from dembias.small_cells import withheld_quotes

    columns = [
        "interaction_id",
        "contribution_id",
        "debate_id",
        "language",
        "country",
        "outcome",
        "flag_kinds",
        "final_flag_kinds",
        "undone_kinds",
        "undone",
        "withheld",
        "draft",
        "suggestion",
        "final",
    ]
    rows = []
    flagged = scored[[len(list(kinds)) > 0 for kinds in scored["flag_kinds"]]]
    for r in flagged.itertuples(index=False):
        kinds = sorted(set(r.flag_kinds))
        final_flags = lexical_flags(r.draft, r.final, source_lang=r.language, target_lang=r.target_language)
        final_kinds = sorted({f.kind for f in final_flags})
        undone_kinds = [kind for kind in kinds if kind not in final_kinds]
        rows.append(
            {
                "interaction_id": r.interaction_id,
                "contribution_id": r.contribution_id,
                "debate_id": r.debate_id,
                "language": r.language,
                "country": r.country,
                "outcome": r.outcome,
                "flag_kinds": kinds,
                "final_flag_kinds": final_kinds,
                "undone_kinds": undone_kinds,
                "undone": len(undone_kinds) == len(kinds),
                "draft": r.draft,
                "suggestion": r.suggestion,
                "final": r.final,
            }
        )
    table = pd.DataFrame(rows, columns=columns)
    if table.empty:
        return table
    breakdowns = {d: rates[rates["dimension"] == d] for d in ("language", "country")}
    table["withheld"] = withheld_quotes(table, breakdowns).to_numpy()
    for column in ("draft", "suggestion", "final"):
        table[column] = table[column].where(~table["withheld"], None)
    return table
