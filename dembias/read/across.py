"""Across debates and models: how each output treats minorities, next to the baselines of its own debate.

:func:`minority_matrix` reads each debate's newest pluralism run and gives one row per debate x output x
metric (value, 95% interval, n), with the **baselines' band** of that debate and metric (min-max over its
``baseline:*`` outputs) and whether the output is worse than every baseline. Long on purpose: columns (e.g. a
spread over repeated samples) can be added without reshaping. :func:`by_place` gives coverage of summaries and
fidelity of rewrites by country and language across debates; :func:`across_finding` states the result in words.
Reads run files read-only; pure otherwise.
"""

from __future__ import annotations

import math

import pandas as pd

from dembias.read import queries
from dembias.read.sample_spread import sample_spread
from dembias.read.verdict import model_label
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import RunInfo, list_runs

#: The matrix's metrics: (words, higher is better). Minority topics are the smallest clusters (20% of the
#: contributions); the minority opinion group is the debate's smallest vote group.
MATRIX_METRICS = {
    "minority_topic_survival": ("smallest topics carried (minority topic survival)", True),
    "minority_group_share": ("smallest opinion group's share of the summary, over its share of participants", True),
    "uer_topics": ("under-representation of topics (UER)", False),
    "uer_opinion_groups": ("under-representation of opinion groups (UER)", False),
}
#: Short names of the metrics, for the finding sentence.
SHORT_NAMES = {
    "minority_topic_survival": "smallest topics carried",
    "minority_group_share": "smallest opinion group's share",
    "uer_topics": "under-representation of topics",
    "uer_opinion_groups": "under-representation of opinion groups",
}
MATRIX_COLUMNS = [
    "debate_id",
    "output_id",
    "model",
    "is_baseline",
    "metric",
    "value",
    "low",
    "high",
    "n",
    "band_low",
    "band_high",
    "worse_than_baselines",
    "pluralism_run",
]


def latest_runs(ws: Workspace, *, stage: str) -> dict[str, RunInfo]:
    """Each debate's newest run of ``stage``."""
    runs: dict[str, RunInfo] = {}
    for run in list_runs(ws, stage=stage):  # oldest first: the newest wins
        if run.debate_id:
            runs[run.debate_id] = run
    return runs


def _nan(x: object) -> float:
    return math.nan if x is None or pd.isna(x) else float(x)


def _score_rows(scores: pd.DataFrame, outputs: pd.DataFrame) -> list[dict]:
    """Rows of the matrix from a run's ``scores`` (minority topic survival, both UERs)."""
    sizes = scores.pivot_table(index="output_id", columns="metric", values="value", aggfunc="first")
    n_of = {"minority_topic_survival": "n_minority_topics", "uer_topics": "n_clusters"}
    n_of["uer_opinion_groups"] = "n_opinion_groups"
    rows = []
    for row in scores[scores["metric"].isin(list(n_of))].to_dict("records"):
        n_col = n_of[row["metric"]]
        n = sizes.at[row["output_id"], n_col] if n_col in sizes.columns else math.nan
        if row["metric"] == "uer_opinion_groups" and (pd.isna(n) or n == 0):
            continue  # no votes: no opinion groups
        rows.append(
            {
                "output_id": row["output_id"],
                "metric": row["metric"],
                "value": _nan(row["value"]),
                "low": _nan(row["low"]),
                "high": _nan(row["high"]),
                "n": None if pd.isna(n) else int(n),
            }
        )
    return rows


def _minority_group_rows(groups: pd.DataFrame) -> list[dict]:
    """The smallest opinion group's representation ratio p_t/p_s (with interval; n = its participants) per output."""
    if groups.empty:
        return []
    smallest = groups.sort_values(["output_id", "n_participants", "vote_group"]).drop_duplicates("output_id")
    return [
        {
            "output_id": r["output_id"],
            "metric": "minority_group_share",
            "value": _nan(r["ratio"]),
            "low": _nan(r["ratio_low"]),
            "high": _nan(r["ratio_high"]),
            "n": int(r["n_participants"]),
        }
        for r in smallest.to_dict("records")
    ]


def _with_band(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the baselines' band (min-max over a debate's baselines, per metric) and whether a value is worse."""
    base = frame[frame["is_baseline"]].groupby(["debate_id", "metric"])["value"].agg(["min", "max"])
    base = base.rename(columns={"min": "band_low", "max": "band_high"}).reset_index()
    frame = frame.merge(base, on=["debate_id", "metric"], how="left")
    higher = frame["metric"].map({m: h for m, (_w, h) in MATRIX_METRICS.items()}).astype(bool)
    below = frame["value"] < frame["band_low"]
    above = frame["value"] > frame["band_high"]
    frame["worse_than_baselines"] = (higher & below) | (~higher & above)
    return frame


def _run_rows(ws: Workspace, run: RunInfo) -> list[dict]:
    scores = queries.run_table(ws, run.run_id, "scores")
    outputs = queries.run_table(ws, run.run_id, "outputs")
    if scores.empty or outputs.empty:
        return []
    outputs = outputs[outputs["task"] == "summary"] if "task" in outputs.columns else outputs
    rows = _score_rows(scores, outputs) + _minority_group_rows(queries.run_table(ws, run.run_id, "opinion_groups"))
    models = dict(zip(outputs["output_id"], outputs["model"], strict=True))
    return [
        {**r, "debate_id": run.debate_id, "model": models[r["output_id"]], "pluralism_run": run.run_id}
        for r in rows
        if r["output_id"] in models
    ]


def minority_matrix(ws: Workspace) -> pd.DataFrame:
    """One row per debate x output x metric (:data:`MATRIX_METRICS`) from each debate's newest pluralism run.

    Columns: :data:`MATRIX_COLUMNS`; ``value``, ``low``, ``high`` numbers (NaN without an interval), ``n`` what
    the value is over (minority topics, topics, opinion groups, or the smallest group's participants).
    """
    rows = [row for run in latest_runs(ws, stage="pluralism").values() for row in _run_rows(ws, run)]
    if not rows:
        return pd.DataFrame(columns=MATRIX_COLUMNS)
    frame = pd.DataFrame(rows)
    frame["is_baseline"] = frame["model"].astype(str).str.startswith("baseline:")
    frame = _with_band(frame)
    return frame[MATRIX_COLUMNS].sort_values(["metric", "debate_id", "is_baseline", "model"]).reset_index(drop=True)


#: Columns of :func:`matrix_by_model`: the matrix pooled over each model's repeated samples.
BY_MODEL_COLUMNS = [
    "debate_id",
    "model",
    "is_baseline",
    "metric",
    "n_samples",
    "mean",
    "sd",
    "min",
    "max",
    "low",
    "high",
    "band_low",
    "band_high",
    "worse_in",
]


def matrix_by_model(ws: Workspace, matrix: pd.DataFrame) -> pd.DataFrame:
    """The matrix per debate x model x metric, pooled over the model's repeated samples and prompts.

    A model sampled several times (``dembias generate --samples N``, several prompt ids) has one matrix row
    per output; this gives its spread (:func:`dembias.read.sample_spread.sample_spread`: a sample is one
    (prompt id, sample index) run): ``n_samples``, ``mean``, ``sd``, ``min``, ``max`` and the t interval
    ``low``/``high`` of the mean (NaN with one sample), the baselines' band, and ``worse_in``: in how many
    samples the model did worse than every baseline. One sample: the mean is that sample's value.
    """
    if matrix.empty:
        return pd.DataFrame(columns=BY_MODEL_COLUMNS)
    variants = queries.output_variants(ws, sorted(set(matrix["output_id"])))[["output_id", "prompt_id", "sample"]]
    frame = matrix.merge(variants, on="output_id", how="left")
    keys = ["debate_id", "model", "is_baseline", "metric"]
    spread = sample_spread(frame, value="value", by=keys, sample=("prompt_id", "sample"))
    extra = frame.groupby(keys, dropna=False).agg(
        band_low=("band_low", "first"), band_high=("band_high", "first"), worse_in=("worse_than_baselines", "sum")
    )
    out = spread.merge(extra.reset_index(), on=keys, how="left")
    out["worse_in"] = out["worse_in"].astype(int)
    return out[BY_MODEL_COLUMNS].reset_index(drop=True)


def across_finding(matrix: pd.DataFrame) -> str:
    """Which model is worse than every baseline of its debate (outside the baselines' band, on the bad side), on how
    many debates, per metric, in plain words."""
    models = matrix[~matrix["is_baseline"] & matrix["band_low"].notna()]
    if models.empty:
        return "No model output has baselines to compare with (score baselines with `dembias score pluralism`)."
    parts = []
    for model, part in models.groupby("model", sort=True):
        worse = []
        for metric, words in SHORT_NAMES.items():
            rows = part[part["metric"] == metric]
            n_worse = int(rows.groupby("debate_id")["worse_than_baselines"].any().sum()) if len(rows) else 0
            if n_worse:
                worse.append(f"{words} in {n_worse} of {rows['debate_id'].nunique()} debates")
        name = model_label(str(model))
        if worse:
            parts.append(f"{name} is worse than every baseline of the debate on " + ", ".join(worse))
        else:
            n = part["debate_id"].nunique()
            parts.append(f"{name} is never worse than every baseline ({n} debate{'s' if n > 1 else ''})")
    return ". ".join(parts) + "."


def by_place(ws: Workspace) -> pd.DataFrame:
    """Coverage of summaries and fidelity of rewrites by country and language, across debates (newest runs).

    One row per debate x source x dimension x value: ``measure`` is ``summary coverage`` (mean chance a
    contribution is carried, per output) or ``rewrite similarity`` (mean source-rewrite similarity of the
    debate's fidelity run, by country or source language); ``value``, ``low``, ``high``, ``n``; small cells are
    ``suppressed`` with no value.
    """
    frames = []
    for debate_id, run in latest_runs(ws, stage="pluralism").items():
        cov = queries.run_table(ws, run.run_id, "group_coverage")
        outs = queries.run_table(ws, run.run_id, "outputs")
        if cov.empty:
            continue
        cov = cov[cov["dimension"].isin(["country", "language"])].merge(outs[["output_id", "model"]], on="output_id")
        frames.append(
            pd.DataFrame(
                {
                    "debate_id": debate_id,
                    "measure": "summary coverage",
                    "model": cov["model"],
                    "output_id": cov["output_id"],
                    "dimension": cov["dimension"],
                    "place": cov["value"],
                    "value": cov["mean_coverage"].where(~cov["suppressed"].astype(bool)),
                    "low": cov["coverage_low"].where(~cov["suppressed"].astype(bool)),
                    "high": cov["coverage_high"].where(~cov["suppressed"].astype(bool)),
                    "n": cov["n"],
                    "suppressed": cov["suppressed"].astype(bool),
                    "run_id": run.run_id,
                }
            )
        )
    frames += [_fidelity_by_place(ws, debate_id, run) for debate_id, run in latest_runs(ws, stage="fidelity").items()]
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True).sort_values(["dimension", "place", "measure", "debate_id"])


def _fidelity_by_place(ws: Workspace, debate_id: str, run: RunInfo) -> pd.DataFrame:
    agg = queries.run_table(ws, run.run_id, "aggregates")
    if agg.empty:
        return agg
    agg = agg[(agg["metric"] == "similarity") & agg["dimension"].isin(["country", "source_language"])]
    suppressed = agg["suppressed"].astype(bool)
    return pd.DataFrame(
        {
            "debate_id": debate_id,
            "measure": "rewrite similarity",
            "model": "all rewrites",
            "output_id": None,
            "dimension": agg["dimension"].replace({"source_language": "language"}),
            "place": agg["value"],
            "value": agg["mean"].where(~suppressed),
            "low": agg["low"].where(~suppressed),
            "high": agg["high"].where(~suppressed),
            "n": agg["n"],
            "suppressed": suppressed,
            "run_id": run.run_id,
        }
    )
