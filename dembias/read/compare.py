"""Comparing two outputs, or two runs: which metrics moved beyond their intervals, which clusters flipped."""

from __future__ import annotations

import math

import pandas as pd

from dembias.pluralism.metrics import INTERVAL_METRICS

#: The headline metrics (those with bootstrap intervals), and the justified-representation count.
COMPARED_METRICS = (*INTERVAL_METRICS, "jr_violations")


def _num(row: pd.Series, name: str) -> float:
    value = row.get(name)
    return math.nan if value is None or pd.isna(value) else float(value)


def compare_metrics(a: pd.Series, b: pd.Series, *, metrics: tuple[str, ...] = COMPARED_METRICS) -> pd.DataFrame:
    """Metric by metric: A and B with intervals, B - A, and whether the intervals are disjoint.

    ``a`` and ``b`` are rows of :func:`dembias.read.queries.scorecard` (columns ``m``, ``m_low``, ``m_high``).
    ``moved`` is True when both intervals exist and do not overlap, or, without intervals, when the
    values differ; it is None when a value is missing.
    """
    rows = []
    for metric in metrics:
        va, vb = _num(a, metric), _num(b, metric)
        la, ha = _num(a, f"{metric}_low"), _num(a, f"{metric}_high")
        lb, hb = _num(b, f"{metric}_low"), _num(b, f"{metric}_high")
        if math.isnan(va) or math.isnan(vb):
            moved = None
        elif not any(math.isnan(x) for x in (la, ha, lb, hb)):
            moved = bool(hb < la or ha < lb)
        else:
            moved = bool(va != vb)
        rows.append(
            {
                "metric": metric,
                "a": va,
                "a_low": la,
                "a_high": ha,
                "b": vb,
                "b_low": lb,
                "b_high": hb,
                "delta": vb - va,
                "moved_beyond_intervals": moved,
            }
        )
    return pd.DataFrame(rows)


def cluster_flips(coverage_a: pd.DataFrame, coverage_b: pd.DataFrame) -> pd.DataFrame:
    """Clusters (of one mapping) covered by A and/or B: ``change`` is kept, dropped in B, gained in B, or neither.

    Both frames have columns cluster, covered (and optionally label, size, is_minority); the noise
    bucket (-1) is left out. Sorted: flips first, then by size.
    """
    keep = [c for c in ("cluster", "label", "size", "is_minority", "covered") if c in coverage_a.columns]
    merged = coverage_a[keep].merge(
        coverage_b[["cluster", "covered"]], on="cluster", how="outer", suffixes=("_a", "_b")
    )
    merged = merged[merged["cluster"] != -1].copy()
    covered_a = merged["covered_a"].fillna(False).astype(bool)
    covered_b = merged["covered_b"].fillna(False).astype(bool)
    merged["covered_a"], merged["covered_b"] = covered_a, covered_b
    merged["change"] = "kept"
    merged.loc[covered_a & ~covered_b, "change"] = "dropped in B"
    merged.loc[~covered_a & covered_b, "change"] = "gained in B"
    merged.loc[~covered_a & ~covered_b, "change"] = "dropped by both"
    merged["_flip"] = merged["change"].isin(["dropped in B", "gained in B"])
    sort = ["_flip", "size"] if "size" in merged.columns else ["_flip"]
    return merged.sort_values(sort, ascending=False, kind="stable").drop(columns="_flip").reset_index(drop=True)


def comparison_refusal(
    *, mode: str, run_a: str, run_b: str, output_a: str, output_b: str, n_runs: int, n_outputs: int
) -> str | None:
    """Why a comparison would compare a thing with itself (a sentence for the reader), or None when it is valid.

    ``mode`` is ``two runs`` (one output scored in runs A and B) or ``two outputs`` (outputs A and B of one run).
    """
    if mode == "two runs":
        if n_runs < 2:
            return (
                "This debate has a single pluralism scoring run, so there is no second run to compare it with: "
                "rescore it (Rescoring page, or `dembias score pluralism`) with other settings first."
            )
        if run_a == run_b:
            return "Run A and run B are the same run: a run compared with itself shows no difference. Pick two runs."
        return None
    if n_outputs < 2:
        return "This run scored a single output, so there is no second output to compare it with."
    if output_a == output_b:
        return "Output A and output B are the same output: pick two different outputs."
    return None
