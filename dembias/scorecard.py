"""The overview's scorecard: headline pluralism and fidelity figures per output, as readable cells."""

from __future__ import annotations

import math

import pandas as pd

#: Headline pluralism metrics of the scorecard, in display order, with their column titles.
HEADLINES: tuple[tuple[str, str], ...] = (
    ("survival", "Survival"),
    ("minority_survival", "Minority survival"),
    ("minority_survival_gap", "Minority gap"),
    ("uer_clusters", "UER clusters"),
    ("bur_clusters", "BUR clusters"),
    ("uer_vote_groups", "UER vote groups"),
    ("jr_violations", "JR violations"),
)


def format_cell(value: float | None, low: float | None = None, high: float | None = None, *, digits: int = 2) -> str:
    """``0.64 [0.43, 0.86]``; just the value without an interval; ``—`` when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    text = f"{value:.{digits}f}"
    if low is not None and high is not None and not (math.isnan(low) or math.isnan(high)) and low != high:
        text += f" [{low:.{digits}f}, {high:.{digits}f}]"
    return text


def _get(row: pd.Series, name: str) -> float | None:
    value = row.get(name)
    return None if value is None or pd.isna(value) else float(value)


def format_scorecard(scores: pd.DataFrame, fidelity: pd.DataFrame | None = None) -> pd.DataFrame:
    """One readable row per output from :func:`dembias.queries.scorecard` (and fidelity per model).

    ``fidelity`` (optional) has columns model, n_pairs, mean_similarity, share_flagged; it is joined on
    the model, since rewrites and summaries of one model are different outputs.
    """
    rows = []
    for _, row in scores.iterrows():
        record = {"Model": row["model"], "output_id": row["output_id"]}
        for metric, title in HEADLINES:
            digits = 0 if metric == "jr_violations" else 3 if metric.startswith("uer") else 2
            record[title] = format_cell(
                _get(row, metric), _get(row, f"{metric}_low"), _get(row, f"{metric}_high"), digits=digits
            )
        rows.append(record)
    table = pd.DataFrame(rows)
    if fidelity is not None and not fidelity.empty and not table.empty:
        fid = fidelity.set_index("model")
        table["Rewrites audited"] = table["Model"].map(fid["n_pairs"]).fillna(0).astype(int)
        table["Mean similarity"] = (
            table["Model"].map(fid["mean_similarity"]).map(lambda v: "—" if pd.isna(v) else f"{v:.2f}")
        )
        table["Rewrites flagged"] = (
            table["Model"].map(fid["share_flagged"]).map(lambda v: "—" if pd.isna(v) else f"{v:.0%}")
        )
    return table
