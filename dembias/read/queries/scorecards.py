"""Per-output scores of a pluralism run: the scorecard, quality flags, the verdict, the unfair rate per model, the
spread over repeated samples, and the checks of a validation run."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from dembias.read.queries.connections import readable
from dembias.read.queries.debate_records import output_variants
from dembias.workspace.folder import Workspace
from dembias.workspace.identifiers import quote_identifier
from dembias.workspace.runs import open_run

SQL_OUTPUT_QUALITY = """
SELECT output_id, n_units, n_distinct_units, n_content_free_units, n_citations, n_supported_citations,
       citation_precision, quality_flags, quality_notes
FROM outputs
"""


@readable
def scorecard(ws: Workspace, pluralism_run: str) -> pd.DataFrame:
    """One row per scored output: model, quality, citations and every headline metric (value, low, high)."""
    con = open_run(ws, pluralism_run)
    try:
        scores = con.execute(
            "SELECT s.output_id, o.model, s.metric, s.value, s.low, s.high "
            "FROM scores s LEFT JOIN outputs o USING (output_id)"
        ).df()
        outputs = con.execute(SQL_OUTPUT_QUALITY).df()
    finally:
        con.close()
    if scores.empty:
        return scores
    wide = scores.pivot_table(index=["output_id", "model"], columns="metric", values=["value", "low", "high"])
    wide.columns = [metric if stat == "value" else f"{metric}_{stat}" for stat, metric in wide.columns]
    wide = wide.reset_index()
    extra = [c for c in outputs.columns if c == "output_id" or c not in wide.columns]
    return wide.merge(outputs[extra], on="output_id", how="left")


@readable
def output_quality(ws: Workspace, pluralism_run: str, output_id: str) -> dict[str, Any]:
    """The quality flags (list), their sentences and the unit counts of one scored output ({} when unknown)."""
    con = open_run(ws, pluralism_run)
    try:
        frame = con.execute(SQL_OUTPUT_QUALITY + " WHERE output_id = ?", [output_id]).df()
    finally:
        con.close()
    if frame.empty:
        return {}
    row = frame.iloc[0].to_dict()
    row["quality_flags"] = json.loads(row["quality_flags"] or "[]")
    row["quality_notes"] = json.loads(row["quality_notes"] or "[]")
    return row


@readable
def validation_checks(ws: Workspace, validation_run: str) -> pd.DataFrame:
    """The checks of a validation run (``dembias validate``): control, check, expected, found, passed."""
    con = open_run(ws, validation_run)
    try:
        return con.execute('SELECT control, "check", expected, found, passed FROM checks').df()
    finally:
        con.close()


@readable
def unfair_by_model(ws: Workspace, pluralism_runs: Sequence[str]) -> pd.DataFrame:
    """BUR per model over its summaries in ``pluralism_runs`` (e.g. each debate's latest run).

    BUR (Zhang et al. 2024) is the share of a model's summaries that are unfair to some topic (or opinion
    group); ``n`` says how many summaries it is over.
    """
    from dembias.pluralism.unfairness import binary_unfair_rate

    frames = []
    for run_id in pluralism_runs:
        con = open_run(ws, run_id)
        try:
            frames.append(
                con.execute(
                    "SELECT o.model, s.metric, s.value FROM scores s JOIN outputs o USING (output_id) "
                    "WHERE s.metric IN ('unfair_topics', 'unfair_opinion_groups')"
                ).df()
            )
        finally:
            con.close()
    if not frames:
        return pd.DataFrame(columns=["model", "bur_topics", "n_topics", "bur_opinion_groups", "n_opinion_groups"])
    scores = pd.concat(frames, ignore_index=True)
    rows = []
    for model, group in scores.groupby("model", sort=True):
        topics = binary_unfair_rate(group.loc[group["metric"] == "unfair_topics", "value"].tolist())
        opinion = binary_unfair_rate(group.loc[group["metric"] == "unfair_opinion_groups", "value"].tolist())
        rows.append((model, topics[0], topics[1], opinion[0], opinion[1]))
    return pd.DataFrame(rows, columns=["model", "bur_topics", "n_topics", "bur_opinion_groups", "n_opinion_groups"])


def _run_rows(con: duckdb.DuckDBPyConnection, table: str, output_id: str) -> pd.DataFrame:
    """One output's rows of a run table (an empty frame when the run has no such table)."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if table not in tables:
        return pd.DataFrame()
    return con.execute(f"SELECT * FROM {quote_identifier(table)} WHERE output_id = ?", [output_id]).df()


@readable
def verdict(ws: Workspace, pluralism_run: str, output_id: str) -> str:
    """The plain-language finding for one scored output (:func:`dembias.read.verdict.summary_verdict`); '' if unscored."""
    from dembias.read.verdict import summary_verdict

    con = open_run(ws, pluralism_run)
    try:
        frames = {
            t: _run_rows(con, t, output_id)
            for t in ("outputs", "scores", "cluster_coverage", "opinion_groups", "units")
        }
    finally:
        con.close()
    if frames["outputs"].empty:
        return ""
    return summary_verdict(
        frames["outputs"].iloc[0].to_dict(),
        scores=frames["scores"],
        cluster_coverage=frames["cluster_coverage"],
        opinion_groups=frames["opinion_groups"],
        units=frames["units"],
    )


@readable
def run_sample_spread(ws: Workspace, pluralism_run: str) -> pd.DataFrame:
    """Each pluralism metric of a scoring run per model, and per model x prompt, across repeated samples.

    The frame of :func:`dembias.read.sample_spread.spread_by_levels`: model, prompt_id (None on the
    all-prompts row), metric, n_samples, n_outputs, mean, sd, min, max and the 95% t interval
    low-high over the sample scores. Empty when the run scored nothing.
    """
    from dembias.read.sample_spread import PLURALISM_SPREAD_METRICS, pluralism_sample_scores, spread_by_levels

    wide = scorecard(ws, pluralism_run)
    metrics = [m for m in PLURALISM_SPREAD_METRICS if m in wide.columns]
    if wide.empty or not metrics:
        return pd.DataFrame()
    scores = wide[["output_id", "model", *metrics]].melt(
        id_vars=["output_id", "model"], var_name="metric", value_name="value"
    )
    variants = output_variants(ws, list(wide["output_id"]))
    scores = scores.merge(variants[["output_id", "debate_id"]], on="output_id", how="left")
    long = pluralism_sample_scores(scores, variants, metrics=metrics)
    return spread_by_levels(long, levels=[("model",), ("model", "prompt_id")])
