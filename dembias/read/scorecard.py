"""The overview's scorecard: headline pluralism and fidelity figures per output, as readable cells.

Two forms of the same rows: :func:`format_scorecard` (text cells "0.64 [0.43, 0.86]", for the page)
and :func:`scorecard_numbers` (a value, low and high column per metric, for CSV export).
"""

from __future__ import annotations

import json
import math

import pandas as pd

#: Headline pluralism metrics of the scorecard, in display order, with their column titles. BUR is not here:
#: it is a rate over a set of summaries (per model), not a score of one summary (dembias.pluralism.metrics).
HEADLINES: tuple[tuple[str, str], ...] = (
    ("survival", "Topics kept"),
    ("minority_topic_survival", "Minority topics kept"),
    ("minority_topic_gap", "Minority-topic gap"),
    ("uer_topics", "Topic under-representation (UER)"),
    ("uer_opinion_groups", "Opinion-group under-representation (UER)"),
    ("opinion_groups_under_represented", "Opinion groups under-represented"),
    ("jr_violations", "Justified-representation violations"),
)
#: Metrics shown with their random-links placebo.
WITH_PLACEBO = ("survival", "minority_topic_survival", "uer_topics")


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


def _flags(row: pd.Series) -> list[str]:
    raw = row.get("quality_flags")
    return json.loads(raw) if isinstance(raw, str) and raw else []


def format_scorecard(scores: pd.DataFrame, fidelity: pd.DataFrame | None = None) -> pd.DataFrame:
    """One readable row per output from :func:`dembias.read.queries.scorecard` (and fidelity per model).

    ``fidelity`` (optional) has columns model, n_pairs, mean_similarity, share_flagged; it is joined on
    the model, since rewrites and summaries of one model are different outputs.
    """
    rows = []
    for _, row in scores.iterrows():
        flags = _flags(row)
        record = {
            "Model": row["model"],
            "output_id": row["output_id"],
            "Quality": ", ".join(f.replace("_", " ") for f in flags) if flags else "no problem found",
        }
        for metric, title in HEADLINES:
            digits = 0 if metric in ("jr_violations", "opinion_groups_under_represented") else 2
            record[title] = format_cell(
                _get(row, metric), _get(row, f"{metric}_low"), _get(row, f"{metric}_high"), digits=digits
            )
            if metric in WITH_PLACEBO and _get(row, f"placebo:{metric}") is not None:
                record[title] += f" · placebo {_get(row, f'placebo:{metric}'):.2f}"
        n_cit = _get(row, "n_citations")
        record["Citations supported"] = (
            "no citation"
            if not n_cit
            else f"{int(_get(row, 'n_supported_citations') or 0)} of {int(n_cit)} ({_get(row, 'citation_precision'):.0%})"
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


def scorecard_numbers(scores: pd.DataFrame) -> pd.DataFrame:
    """The scorecard for export: numeric value, low, high (and placebo) columns per metric; flags as JSON."""
    columns = ["model", "output_id", "quality_flags", "n_citations", "n_supported_citations", "citation_precision"]
    out = scores[[c for c in columns if c in scores.columns]].copy()
    for metric, _title in HEADLINES:
        for suffix in ("", "_low", "_high"):
            if f"{metric}{suffix}" in scores.columns:
                out[f"{metric}{suffix or '_value'}"] = scores[f"{metric}{suffix}"]
        if f"placebo:{metric}" in scores.columns:
            out[f"{metric}_placebo"] = scores[f"placebo:{metric}"]
    return out
