"""The finding first, on the pages :mod:`dembias.read.verdict` does not cover: fidelity, compare, rescoring,
annotations, and a debate with no scored summary.

One or two plain sentences each, in the reader's units (shares in percent, 95% intervals, n), no acronym
without its words. Pure functions over the tables the pages already read: no I/O, no streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

#: Below this mean similarity a language pair's rewrites read as no longer saying what their author said.
LOW_SIMILARITY = 0.5


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _interval(low: Any, high: Any, *, percent: bool) -> str:
    if low is None or high is None or (isinstance(low, float) and math.isnan(low)):
        return ""
    if percent:
        return f" (95% interval {100 * low:.0f}–{100 * high:.0f}%)"
    return f" (95% interval {low:.2f}–{high:.2f})"


def _aggregate(aggregates: pd.DataFrame, metric: str, dimension: str) -> pd.DataFrame:
    if aggregates is None or aggregates.empty:
        return pd.DataFrame()
    rows = aggregates[(aggregates["metric"] == metric) & (aggregates["dimension"] == dimension)]
    return rows[~rows["suppressed"].astype(bool)]


def fidelity_finding(aggregates: pd.DataFrame, *, n_pairs: int) -> str:
    """What a fidelity run finds: overall similarity and flagged share, and the weakest language pair.

    ``aggregates`` is the run's ``aggregates`` table (metric, dimension, value, n, mean, low, high, suppressed).
    """
    if n_pairs == 0:
        return "This debate has no rewrite or translation to audit."
    overall = _aggregate(aggregates, "similarity", "all")
    flagged = _aggregate(aggregates, "flagged", "all")
    parts = [f"Across {n_pairs} rewrites and translations"]
    if not overall.empty:
        row = overall.iloc[0]
        parts.append(
            f"the mean similarity to what the author wrote is {row['mean']:.2f}"
            + _interval(row["low"], row["high"], percent=False)
        )
    if not flagged.empty:
        row = flagged.iloc[0]
        parts.append(f"{_pct(row['mean'])} carry a word-level flag" + _interval(row["low"], row["high"], percent=True))
    first = parts[0] + (", " + "; ".join(parts[1:]) if len(parts) > 1 else "") + "."
    pairs = _aggregate(aggregates, "similarity", "language_pair")
    if len(pairs) < 2:
        return first
    worst, best = pairs.sort_values("mean").iloc[0], pairs.sort_values("mean").iloc[-1]
    verdict = "no longer say what their authors said" if worst["mean"] < LOW_SIMILARITY else "stay furthest"
    return (
        f"{first} The {worst['value']} outputs (n = {int(worst['n'])}) {verdict}: similarity {worst['mean']:.2f}"
        f"{_interval(worst['low'], worst['high'], percent=False)}, against {best['mean']:.2f} for {best['value']}."
    )


def compare_finding(table: pd.DataFrame, *, label_a: str, label_b: str, titles: Mapping[str, str]) -> str:
    """Whether B differs from A beyond the 95% intervals, and on which metrics (rows of compare_metrics)."""
    if table is None or table.empty:
        return f"{label_b} and {label_a} share no metric to compare."
    moved = table[table["moved_beyond_intervals"] == True]  # noqa: E712 - True/False/None
    n = len(table)
    if moved.empty:
        return (
            f"{label_b} and {label_a} do not differ beyond their 95% intervals on any of the {n} metrics: "
            "what separates them may be chance."
        )
    named = ", ".join(
        f"{titles.get(m, m)} ({a:.2f} → {b:.2f})"
        for m, a, b in zip(moved["metric"], moved["a"], moved["b"], strict=True)
    )
    return f"{label_b} differs from {label_a} beyond the 95% intervals on {len(moved)} of {n} metrics: {named}."


def rescoring_finding(jobs: Sequence[Mapping[str, Any]], *, n_runs: int) -> str:
    """How many pluralism runs the debate has and what the rescoring queue holds."""
    states: dict[str, int] = {}
    for job in jobs:
        states[str(job.get("state", "unknown"))] = states.get(str(job.get("state", "unknown")), 0) + 1
    runs = f"This debate has {n_runs} pluralism scoring run{'s' if n_runs != 1 else ''}"
    if not jobs:
        return runs + "; no rescoring job has been queued. Queue one below to score it with another model or device."
    listed = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
    return f"{runs}; the rescoring queue holds {len(jobs)} job{'s' if len(jobs) != 1 else ''} ({listed})."


def annotations_finding(notes: pd.DataFrame, *, output_id: str | None) -> str:
    """How many notes the debate has, how many are about the selected output, and the commonest label."""
    if notes is None or notes.empty:
        return "No one has flagged anything in this debate yet: use the Flag buttons on the other pages."
    about = 0
    if output_id and "output_id" in notes:
        about = int((notes["output_id"] == output_id).sum())
    top = notes["label"].value_counts()
    return (
        f"{len(notes)} note{'s' if len(notes) != 1 else ''} on this debate, {about} about the selected output; "
        f"the commonest label is '{top.index[0]}' ({int(top.iloc[0])})."
    )


def unscored_finding(debate_id: str, counts: Mapping[str, Any], *, has_fidelity: bool) -> str:
    """The finding of a debate with no scored summary: what it holds and where it is audited."""
    n_languages = int(counts["languages"])
    held = (
        f"{debate_id} holds {counts['contributions']} contributions in {n_languages} "
        f"language{'s' if n_languages != 1 else ''}"
    )
    if has_fidelity:
        return f"{held} and no scored summary: its rewrites and translations are audited on the Fidelity page."
    return f"{held} and no scored summary yet: run `dembias score pluralism --debate {debate_id}`."
