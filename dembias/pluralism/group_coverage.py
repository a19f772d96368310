"""Coverage of one summary by group: vote groups, language, country and the declared ``group_by`` columns.

Per group: n, contributors, p_s, p_t, mean coverage with a bootstrap interval, Coverage Parity, and the
suppression of small cells; per dimension: UER, the unfair flag and Equal Coverage. Definitions:
:mod:`dembias.pluralism.metrics`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dembias.pluralism.topics import unit_shares
from dembias.pluralism.unfairness import is_unfair, uer


def group_coverage(
    contrib: pd.DataFrame,
    vote_group: pd.Series,
    covered: np.ndarray,
    links: pd.DataFrame,
    *,
    group_by: Sequence[str],
    min_cell: int,
    unfair_ratio: float,
    n_resamples: int,
    seed: int,
    confidence: float,
) -> pd.DataFrame:
    """Coverage by vote group, language, country and every ``group_by`` column, with n and intervals."""
    dimensions = [c for c in ("language", "country") if c in contrib.columns and contrib[c].notna().any()]
    dimensions += [c for c in group_by if c not in dimensions]
    slices = []
    options = {
        "min_cell": min_cell, "unfair_ratio": unfair_ratio, "n_resamples": n_resamples,
        "seed": seed, "confidence": confidence,
    }  # fmt: skip
    if vote_group.notna().any():
        slices.append(
            _dimension_table("vote_group", vote_group.reset_index(drop=True), contrib, covered, links, **options)
        )
    for dim in dimensions:
        if dim not in contrib.columns:
            raise ValueError(f"no column {dim!r} to group by; columns: {sorted(contrib.columns)}")
        slices.append(_dimension_table(dim, contrib[dim], contrib, covered, links, **options))
    if slices:
        return pd.concat(slices, ignore_index=True)
    return pd.DataFrame(columns=GROUP_COVERAGE_COLUMNS)


def dimension_scores(group_coverage: pd.DataFrame, unfair_ratio: float) -> list[tuple]:
    """UER, unfair flag and Equal Coverage per dimension (vote groups: see opinion groups)."""
    nan = float("nan")
    rows: list[tuple] = []
    for dim, table in group_coverage.groupby("dimension", sort=True):
        p_s = table.set_index("value")["p_s"]
        p_t = table.set_index("value")["p_t_raw"]
        ok = table[~table["suppressed"]]
        if dim != "vote_group":
            rows.append((f"uer:{dim}", uer(p_s, p_t), nan, nan, None))
            rows.append((f"unfair:{dim}", is_unfair(p_s, p_t, unfair_ratio=unfair_ratio), nan, nan, None))
            rows.append((f"under_represented:{dim}", float(table["under_represented"].sum()), nan, nan, None))
        equal = float(ok["parity"].abs().mean()) if len(ok) else nan
        rows.append((f"equal_coverage:{dim}", equal, nan, nan, f"{len(ok)} groups of {len(table)} not suppressed"))
    return rows


GROUP_COVERAGE_COLUMNS = [
    "dimension",
    "value",
    "n",
    "n_contributors",
    "p_s",
    "p_t",
    "mean_coverage",
    "coverage_low",
    "coverage_high",
    "parity",
    "under_represented",
    "suppressed",
]


def _dimension_table(
    dimension: str,
    values: pd.Series,
    contrib: pd.DataFrame,
    covered: np.ndarray,
    links: pd.DataFrame,
    *,
    min_cell: int,
    unfair_ratio: float,
    n_resamples: int,
    seed: int,
    confidence: float,
) -> pd.DataFrame:
    """One dimension's groups: n, contributors, p_s, p_t, coverage with a bootstrap interval, parity.

    Suppressed groups (fewer than ``min_cell`` contributors) show no rates, but are still counted as
    under-represented when p_t <= ``unfair_ratio`` p_s: suppression hides rates and quotes of a small
    cell, not the fact that the summary leaves it out.
    """
    values = values.reset_index(drop=True)
    labels = pd.Series(values.to_numpy(), index=contrib["contribution_id"].to_numpy()).dropna()
    known = values.notna().to_numpy()
    p_t = unit_shares(links, labels)
    overall = covered[known].mean() if known.any() else float("nan")
    authors = contrib["author_pid"] if "author_pid" in contrib.columns else None
    rng = np.random.default_rng(seed)
    alpha = (1 - confidence) / 2
    rows = []
    n_known = int(known.sum())
    for value in sorted(values.dropna().unique(), key=str):
        mask = (values == value).to_numpy()
        n_cell = int(mask.sum())
        mean_cov = float(covered[mask].mean())
        draws = rng.binomial(n_cell, mean_cov, size=n_resamples) / n_cell
        low, high = (float(x) for x in np.quantile(draws, [alpha, 1 - alpha]))
        rows.append(
            _group_row(
                dimension, value, n_cell=n_cell, contributors=_contributors(authors, mask, n_cell),
                p_s=n_cell / n_known, share_t=float(p_t.get(value, 0.0)), coverage=(mean_cov, low, high),
                overall=overall, min_cell=min_cell, unfair_ratio=unfair_ratio,
            )
        )  # fmt: skip
    frame = pd.DataFrame(rows)
    for column in ("p_t", "mean_coverage", "coverage_low", "coverage_high", "parity"):
        frame[column] = frame[column].astype(float)
    return frame


def _contributors(authors: pd.Series | None, mask: np.ndarray, n_cell: int) -> int:
    """Distinct authors of a cell when authors are known, else its number of contributions."""
    if authors is not None and authors[mask].notna().any():
        return int(authors[mask].nunique())
    return n_cell


def _group_row(
    dimension: str,
    value: object,
    *,
    n_cell: int,
    contributors: int,
    p_s: float,
    share_t: float,
    coverage: tuple[float, float, float],
    overall: float,
    min_cell: int,
    unfair_ratio: float,
) -> dict[str, object]:
    """One group's row; a suppressed group (fewer than ``min_cell`` contributors) shows no rate."""
    mean_cov, low, high = coverage
    suppressed = contributors < min_cell
    return {
        "dimension": dimension,
        "value": str(value),
        "n": n_cell,
        "n_contributors": contributors,
        "p_s": p_s,
        "p_t": None if suppressed else share_t,
        "mean_coverage": None if suppressed else mean_cov,
        "coverage_low": None if suppressed else min(low, mean_cov),
        "coverage_high": None if suppressed else max(high, mean_cov),
        "parity": None if suppressed else mean_cov - overall,
        "under_represented": bool(share_t <= unfair_ratio * p_s),
        "suppressed": suppressed,
        "p_t_raw": share_t,
    }
