"""Between-sample spread of scores: does a model's score hold from one sampled run to the next?

A benchmark generates every (model, prompt, debate) setting ``N`` times with different seeds
(``dembias generate --samples N``). One low pluralism score may be an unlucky draw; the same low score
over every sample is the model. :func:`sample_spread` turns per-output scores into one row per group
(e.g. per model, or per model x prompt) with the mean over samples, the between-sample SD, the min and
max, and a Student-t interval of the mean over the ``n`` sample scores (``n`` = samples, not outputs).

A *sample* is one sampled generation run: by default the (prompt id, sample index) pair, so a group
that pools two prompts of three samples each has six sample scores. Outputs of one sample within a
group (the rewrites of many contributions in one sampled run, or summaries of several debates) are
averaged first, so each sample counts once. With few samples the t interval is wide (with two, the
half-width is 12.7 SD/sqrt(2)): it says honestly how little two draws tell.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from dembias.errors import DembiasError

#: The columns of :func:`sample_spread`'s result after the group columns.
SPREAD_COLUMNS = ("n_samples", "n_outputs", "mean", "sd", "min", "max", "low", "high")


def sample_spread(
    scores: pd.DataFrame,
    *,
    value: str,
    by: Sequence[str] = ("model",),
    sample: str | Sequence[str] = "sample",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Per group of ``by``: the spread of ``value`` across samples.

    ``scores`` has one row per scored output with the ``by`` columns, the ``sample`` column(s) that
    identify one sampled run (e.g. ``"sample"``, the index, or ``("prompt_id", "sample")``; a missing
    column or value counts as one value) and the numeric ``value`` (NaN rows are left out). Rows of one
    group with the same sample are averaged into that sample's score first. Returns one row per group with
    ``n_samples``, ``n_outputs``, ``mean``, ``sd`` (between-sample, ddof=1), ``min``, ``max`` and the
    ``confidence`` Student-t interval of the mean, ``low``/``high``; ``sd``, ``low`` and ``high`` are
    NaN with a single sample (one draw says nothing about the spread). Sorted by the group columns.

    Example: ``sample_spread(frame, value="survival", by=("model", "prompt_id"))``.
    """
    if not 0 < confidence < 1:
        raise DembiasError(f"confidence must be in (0, 1), got {confidence}")
    by = list(by)
    missing = [c for c in [*by, value] if c not in scores.columns]
    if missing:
        raise DembiasError(f"sample_spread: the scores lack the column(s) {missing}")
    frame = scores[[*by, value]].copy()
    units = [sample] if isinstance(sample, str) else list(sample)
    present = [c for c in units if c in scores.columns and c not in by]
    frame["_sample"] = _sample_key(scores, present)
    frame[value] = pd.to_numeric(frame[value], errors="coerce")
    frame = frame.dropna(subset=[value])
    if frame.empty:
        return pd.DataFrame(columns=[*by, *SPREAD_COLUMNS])
    per_sample = frame.groupby([*by, "_sample"], dropna=False, sort=True)[value].agg(["mean", "size"]).reset_index()
    rows = []
    for key, part in per_sample.groupby(by, dropna=False, sort=True):
        keys = key if isinstance(key, tuple) else (key,)
        rows.append({**dict(zip(by, keys, strict=True)), **_spread(part["mean"].to_numpy(), confidence)})
        rows[-1]["n_outputs"] = int(part["size"].sum())
    return pd.DataFrame(rows, columns=[*by, *SPREAD_COLUMNS])


def _sample_key(scores: pd.DataFrame, columns: Sequence[str]) -> pd.Series | str:
    """One label per sampled run from the sample columns (a missing index is 0, a missing id is empty)."""
    if not columns:
        return "0"
    parts = []
    for name in columns:
        column = scores[name]
        if pd.api.types.is_numeric_dtype(column):
            parts.append(column.fillna(0).astype(int).astype(str))
        else:
            parts.append(column.astype(object).where(column.notna(), "").astype(str))
    key = parts[0]
    for part in parts[1:]:
        key = key + "|" + part
    return key


def _spread(values: np.ndarray, confidence: float) -> dict[str, float]:
    """Mean, SD, range and the t interval of the mean of one group's sample scores."""
    n = len(values)
    mean = float(np.mean(values))
    out = {"n_samples": n, "mean": mean, "min": float(np.min(values)), "max": float(np.max(values))}
    if n < 2:
        return {**out, "sd": np.nan, "low": np.nan, "high": np.nan}
    sd = float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * sd / np.sqrt(n)
    return {**out, "sd": sd, "low": mean - half, "high": mean + half}


def spread_records(spread: pd.DataFrame) -> list[dict[str, object]]:
    """JSON-ready records of a :func:`sample_spread` frame (NaN as None, numbers rounded to 6 places)."""
    records = []
    for row in spread.to_dict(orient="records"):
        clean: dict[str, object] = {}
        for key, cell in row.items():
            if isinstance(cell, float | np.floating):
                clean[key] = None if np.isnan(cell) else round(float(cell), 6)
            elif isinstance(cell, np.integer):
                clean[key] = int(cell)
            else:
                clean[key] = cell
        records.append(clean)
    return records


def spread_by_levels(
    scores: pd.DataFrame,
    *,
    levels: Sequence[Sequence[str]],
    metric: str = "metric",
    value: str = "value",
    sample: str | Sequence[str] = ("prompt_id", "sample"),
    confidence: float = 0.95,
) -> pd.DataFrame:
    """:func:`sample_spread` of every metric of a long frame, at several grouping levels, in one frame.

    ``scores`` has one row per (output, metric): the group columns, the ``sample`` column(s) (by
    default a sample is a (prompt id, sample index) pair, so the all-prompts row counts every prompt's
    samples), ``metric`` and ``value``. ``levels`` lists groupings, e.g. ``[("model",), ("model", "prompt_id")]``; the result has
    every column named in any level (None where a level does not group by it), then ``metric`` and the
    spread columns (:data:`SPREAD_COLUMNS`), one row per (level, group, metric). This is the
    ``by_model`` block of ``dembias score pluralism --json --by-model`` and ``score fidelity --json``.
    """
    columns = list(dict.fromkeys(c for level in levels for c in level))
    parts = []
    for level in levels:
        for name, part in scores.groupby(metric, sort=True):
            spread = sample_spread(part, value=value, by=level, sample=sample, confidence=confidence)
            parts.append(spread.assign(**{metric: name}))
    if not parts:
        return pd.DataFrame(columns=[*columns, metric, *SPREAD_COLUMNS])
    frame = pd.concat(parts, ignore_index=True)
    for column in columns:
        if column not in frame.columns:
            frame[column] = None
    frame[columns] = frame[columns].astype(object).where(frame[columns].notna(), None)
    return frame[[*columns, metric, *SPREAD_COLUMNS]]


#: Pluralism metrics reported across samples (the headline metrics with bootstrap intervals).
PLURALISM_SPREAD_METRICS = (
    "survival",
    "minority_topic_survival",
    "minority_topic_gap",
    "uer_topics",
    "uer_opinion_groups",
)
#: Fidelity measures reported across samples, per output: similarity, review score, flagged (0/1).
FIDELITY_SPREAD_METRICS = ("similarity", "review_score", "flagged")
#: Grouping levels of the pluralism ``by_model`` block: per model, and per model x prompt.
PLURALISM_LEVELS = (("debate_id", "model"), ("debate_id", "model", "prompt_id"))
#: Grouping levels of the fidelity ``by_model`` block (a rewrite and each translation pair apart).
FIDELITY_LEVELS = (
    ("debate_id", "task", "target_language", "model"),
    ("debate_id", "task", "target_language", "model", "prompt_id"),
)
_VARIANT_COLUMNS = ("output_id", "prompt_id", "sample", "seed")
#: The prompt id of an output that names none (imported outputs, baselines), so that its per-prompt row is
#: told apart from the all-prompts row (prompt_id None).
NO_PROMPT_ID = "(no prompt id)"


def _with_variants(frame: pd.DataFrame, variants: pd.DataFrame) -> pd.DataFrame:
    merged = frame.merge(variants[list(_VARIANT_COLUMNS)], on="output_id", how="left")
    merged["prompt_id"] = merged["prompt_id"].astype(object).where(merged["prompt_id"].notna(), NO_PROMPT_ID)
    return merged


def pluralism_sample_scores(
    scores: pd.DataFrame, variants: pd.DataFrame, *, metrics: Sequence[str] = PLURALISM_SPREAD_METRICS
) -> pd.DataFrame:
    """The long frame :func:`spread_by_levels` takes, from pluralism scores.

    ``scores``: one row per (output, metric) with ``output_id``, ``debate_id``, ``model``, ``metric``,
    ``value`` (a scoring run's ``scores`` table, or :attr:`OutputScore.result.scores` with the ids
    added); ``variants``: :func:`dembias.read.queries.output_variants` (prompt id, sample, seed per output).
    """
    frame = scores[scores["metric"].isin(metrics)][["output_id", "debate_id", "model", "metric", "value"]]
    return _with_variants(frame, variants)


def fidelity_sample_scores(
    pairs: pd.DataFrame, variants: pd.DataFrame, *, metrics: Sequence[str] = FIDELITY_SPREAD_METRICS
) -> pd.DataFrame:
    """The long frame :func:`spread_by_levels` takes, from a fidelity run's ``pairs`` table.

    ``flagged`` is 1 when the rewrite has at least one flag (``n_flags > 0``), else 0; translations
    are grouped by their ``target_language`` (rewrites have none).
    """
    frame = pairs.assign(flagged=(pairs["n_flags"] > 0).astype(float))
    keep = ["output_id", "debate_id", "task", "target_language", "model"]
    if "target_language" not in frame.columns:
        frame = frame.assign(target_language=None)
    long = frame[[*keep, *metrics]].melt(id_vars=keep, var_name="metric", value_name="value")
    long["target_language"] = long["target_language"].astype(object).where(long["target_language"].notna(), "")
    return _with_variants(long, variants)
