"""Bot-citizen interaction logs: what citizens did with a model's suggested rewrite of their draft.

A log is JSONL, one interaction a line (see ``data/examples/interaction_log.jsonl``)::

    {"contribution_id": "c1", "debate_id": "town", "task": "reformulation",
     "draft": "bike lanes now!!", "suggestion": "We should build bike lanes now.",
     "final": "We should build bike lanes now.", "outcome": "accepted",
     "language": "en", "country": "FR", "labels": {"cluster": "2"}}

Required: ``contribution_id``, ``draft``, ``suggestion``, ``outcome`` (accepted | edited | rejected),
``language`` (of the draft). ``final`` is required unless the suggestion was rejected (then the final
text defaults to the draft). Optional: ``interaction_id`` (default ``row-<line>``), ``debate_id``,
``task`` (reformulation | translation; default reformulation), ``target_language`` (default the draft's
language), ``country``, ``cluster``, ``author`` (pseudonymised with the workspace key before storage),
``labels`` (an object of free labels; ``labels.cluster`` is used when ``cluster`` is absent).

Per interaction, and averaged per language, country and cluster (and ``all``):

* **acceptance / edit / rejection rate**: share of outcomes;
* **fidelity of the suggestion to the draft**: lexical flags (:mod:`dembias.fidelity.lexical`) and, with an
  embedder, the cosine similarity of draft and suggestion;
* **pull**, how far the final text moved from the draft toward the suggestion:

  - ``pull_chars = (lev(draft, suggestion) - lev(final, suggestion)) / lev(draft, suggestion)``
    with ``lev`` the character Levenshtein distance: 1 when the final is the suggestion, 0 when it is
    the draft, negative when the final moved away; NaN when the suggestion equals the draft;
  - with an embedder, ``pull_embedding = (sim(final, s) - sim(draft, s)) / (1 - sim(draft, s))`` with
    ``s`` the suggestion (NaN when ``sim(draft, s) > 0.999``).

A slice with fewer than ``min_cell`` distinct contributors (authors, else contributions) is suppressed. Logs
land as a run of stage ``interactions`` with tables ``interactions`` (one row per line, with its scores)
and ``report`` (the slices); the corpus schema is untouched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dembias.errors import DembiasError, IngestError
from dembias.fidelity.lexical import base_language, lexical_flags
from dembias.fidelity.metrics import STANCE_FLAG_KINDS
from dembias.ingest.common import read_jsonl_records
from dembias.small_cells import MIN_CELL, is_small_cell
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.store import RunInfo, Workspace, latest_run, read_run_table, workspace_fingerprint, write_run

INTERACTIONS_STAGE = "interactions"
OUTCOMES = ("accepted", "edited", "rejected")
TASKS = ("reformulation", "translation")
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


@dataclass
class Interaction:
    """One logged interaction: a draft, the model's suggestion, and what the citizen kept."""

    interaction_id: str
    contribution_id: str
    draft: str
    suggestion: str
    final: str
    outcome: str
    language: str
    task: str = "reformulation"
    debate_id: str | None = None
    target_language: str | None = None
    country: str | None = None
    cluster: str | None = None
    author: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    row: int | None = None


def read_interactions(path: str | Path, *, encoding: str | None = None) -> list[Interaction]:
    """Read and validate an interaction log; errors name the file, the line and the field."""
    return read_jsonl_records(
        path,
        encoding=encoding,
        parse=_interaction_from_json,
        id_of=lambda record: record.interaction_id,
        id_field="interaction_id",
        what="interactions",
    )


def _interaction_from_json(path: Path, line_no: int, obj: dict[str, Any]) -> Interaction:
    def text(name: str, *, required: bool) -> str | None:
        value = obj.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and name in ("contribution_id", "cluster"):
            value = str(value)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise IngestError(path, "missing or empty", row=line_no, field=name)
            return None
        if not isinstance(value, str):
            raise IngestError(path, f"must be a string, got {type(value).__name__}", row=line_no, field=name)
        return value

    outcome = text("outcome", required=True)
    if outcome not in OUTCOMES:
        raise IngestError(
            path, f"unknown outcome {outcome!r}; expected one of {list(OUTCOMES)}", row=line_no, field="outcome"
        )
    task = text("task", required=False) or "reformulation"
    if task not in TASKS:
        raise IngestError(path, f"unknown task {task!r}; expected one of {list(TASKS)}", row=line_no, field="task")
    draft = text("draft", required=True)
    final = text("final", required=outcome != "rejected") or draft
    labels = obj.get("labels") or {}
    if not isinstance(labels, dict):
        raise IngestError(path, "must be a JSON object", row=line_no, field="labels")
    if obj.get("simulated") is True:  # a top-level mark of simulated outcomes joins the labels
        labels = {**labels, "simulated": True}
    cluster = text("cluster", required=False)
    if cluster is None and labels.get("cluster") is not None:
        cluster = str(labels["cluster"])
    author = obj.get("author")
    return Interaction(
        interaction_id=text("interaction_id", required=False) or f"row-{line_no}",
        contribution_id=text("contribution_id", required=True),
        draft=draft,
        suggestion=text("suggestion", required=True),
        final=final,
        outcome=outcome,
        language=base_language(text("language", required=True)),
        task=task,
        debate_id=text("debate_id", required=False),
        target_language=base_language(text("target_language", required=False)) or None,
        country=text("country", required=False),
        cluster=cluster,
        author=None if author is None else str(author),
        labels=labels,
        row=line_no,
    )


def levenshtein(a: str, b: str) -> int:
    """Character edit distance (insertions, deletions, substitutions, each cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def char_pull(draft: str, suggestion: str, final: str) -> float:
    """``(lev(draft, s) - lev(final, s)) / lev(draft, s)``; NaN when the suggestion equals the draft."""
    base = levenshtein(draft, suggestion)
    if base == 0:
        return float("nan")
    return (base - levenshtein(final, suggestion)) / base


def embedding_pull(sim_draft_suggestion: float, sim_final_suggestion: float) -> float:
    """``(sim(final, s) - sim(draft, s)) / (1 - sim(draft, s))``; NaN when the draft is the suggestion."""
    if sim_draft_suggestion > 0.999:
        return float("nan")
    return (sim_final_suggestion - sim_draft_suggestion) / (1.0 - sim_draft_suggestion)


def score_interactions(records: Sequence[Interaction], *, embedder: Any = None) -> pd.DataFrame:
    """One row per interaction with its outcome indicators, flags and pulls (see the module docstring)."""
    rows = []
    for r in records:
        flags = lexical_flags(
            r.draft, r.suggestion, source_lang=r.language, target_lang=r.target_language or r.language
        )
        rows.append(
            {
                "interaction_id": r.interaction_id,
                "contribution_id": r.contribution_id,
                "debate_id": r.debate_id,
                "task": r.task,
                "draft": r.draft,
                "suggestion": r.suggestion,
                "final": r.final,
                "outcome": r.outcome,
                "language": r.language,
                "target_language": r.target_language or r.language,
                "country": r.country,
                "cluster": r.cluster,
                "author_pid": r.author,
                "labels": json.dumps(r.labels, ensure_ascii=False, sort_keys=True),
                "accepted": float(r.outcome == "accepted"),
                "edited": float(r.outcome == "edited"),
                "rejected": float(r.outcome == "rejected"),
                "flag_kinds": [f.kind for f in flags],
                "flagged": float(bool(flags)),
                # any stance change: a negation out of place or a polarity concept turned around
                "negation_flagged": float(any(f.kind in STANCE_FLAG_KINDS for f in flags)),
                "pull_chars": char_pull(r.draft, r.suggestion, r.final),
            }
        )
    frame = pd.DataFrame(rows)
    if embedder is not None and len(records):
        n = len(records)
        vectors = np.asarray(
            embedder.embed([r.draft for r in records] + [r.suggestion for r in records] + [r.final for r in records]),
            dtype=np.float64,
        )
        draft, suggestion, final = vectors[:n], vectors[n : 2 * n], vectors[2 * n :]
        sim_ds = np.einsum("ij,ij->i", draft, suggestion)
        sim_fs = np.einsum("ij,ij->i", final, suggestion)
        frame["suggestion_similarity"] = sim_ds
        frame["pull_embedding"] = [embedding_pull(a, b) for a, b in zip(sim_ds, sim_fs, strict=True)]
    else:
        frame["suggestion_similarity"] = np.nan
        frame["pull_embedding"] = np.nan
    return frame


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


def _attach_mapping_clusters(ws: Workspace, scored: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Fill missing clusters from each debate's latest mapping run (by contribution id)."""
    used = []
    scored = scored.copy()
    for debate in sorted({d for d in scored["debate_id"] if isinstance(d, str)}):
        run = latest_run(ws, stage="mapping", debate_id=debate)
        if run is None:
            continue
        assignments = read_run_table(ws, run.run_id, "assignments")
        cluster_of = dict(
            zip(assignments["contribution_id"].astype(str), assignments["cluster"].astype(str), strict=True)
        )
        mask = (scored["debate_id"] == debate) & scored["cluster"].isna()
        scored.loc[mask, "cluster"] = scored.loc[mask, "contribution_id"].map(cluster_of)
        used.append(run.run_id)
    return scored, used


def ingest_interactions(
    ws: Workspace,
    path: str | Path,
    *,
    embedder: Any = None,
    min_cell: int = MIN_CELL,
    encoding: str | None = None,
) -> tuple[RunInfo, pd.DataFrame]:
    """Validate a log, score it, and store it as a run of stage ``interactions``; returns (run, report).

    Authors are pseudonymised with the workspace key (per debate, ``interactions`` when none) before
    anything is stored; nothing in the corpus changes.
    """
    from dembias.ingest import pseudonymiser_factory

    records = read_interactions(path, encoding=encoding)
    if any(r.author is not None for r in records):
        factory = pseudonymiser_factory(ws)
        for r in records:
            if r.author is not None:
                r.author = factory(r.debate_id or "interactions").one(r.author)
    scored = score_interactions(records, embedder=embedder)
    scored, mapping_runs = _attach_mapping_clusters(ws, scored)
    report = interaction_report(scored, min_cell=min_cell)
    debates = {r.debate_id for r in records}
    table = scored.copy()
    table["flag_kinds"] = table["flag_kinds"].map(list)
    info = write_run(
        ws,
        stage=INTERACTIONS_STAGE,
        debate_id=debates.pop() if len(debates) == 1 else None,
        tables={"interactions": table, "report": report},
        params={
            "source": str(Path(path).resolve()),
            "embedder": getattr(embedder, "model_id", None),
            "embedder_revision": getattr(embedder, "revision", None),
            "min_cell": min_cell,
        },
        inputs=mapping_runs,
    )
    return info, report


# --------------------------------------------------------------------------------------------------
# ``dembias score interactions``: rates with intervals, the pull by group, flagged suggestions.

SCORED_TABLES = ("interactions", "report", "rates", "pull", "flagged")
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


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (``scipy.stats.binomtest``); ``(nan, nan)`` when ``n == 0``."""
    from scipy.stats import binomtest

    if n <= 0:
        return (float("nan"), float("nan"))
    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return (float(ci.low), float(ci.high))


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
    equals the draft) are left out. Every resample is seeded from ``seed`` and the slice's position.
    """
    from dembias.uncertainty import (
        _check_confidence,
        bootstrap_mean_ci,
        bootstrap_resample_means,
        permutation_test,
    )

    lo_q, hi_q = _check_confidence(confidence)
    metrics = [m for m in ("pull_chars", "pull_embedding") if m in scored and scored[m].notna().any()]
    rows = []
    for position, (dimension, value, group) in enumerate(_slices(scored, dimensions)):
        n_contributors = _contributors(group)
        suppressed = is_small_cell(n_contributors, min_cell=min_cell)
        for metric in metrics:
            inside = group[metric].to_numpy(dtype=float)
            inside = inside[~np.isnan(inside)]
            rest_frame = scored.drop(index=group.index)
            rest = rest_frame[metric].to_numpy(dtype=float)
            rest = rest[~np.isnan(rest)]
            nan = float("nan")
            row: dict[str, Any] = {
                "dimension": dimension,
                "value": value,
                "metric": metric,
                "n": int(inside.size),
                "n_contributors": n_contributors,
                "suppressed": suppressed,
            }
            mean, low, high = (nan, nan, nan)
            diff, d_low, d_high, p = (nan, nan, nan, nan)
            if not suppressed and inside.size:
                mean, low, high = bootstrap_mean_ci(inside, n_resamples=n_resamples, seed=seed + position)
                rest_ok = (
                    dimension != "all" and rest.size and not is_small_cell(_contributors(rest_frame), min_cell=min_cell)
                )
                if rest_ok:
                    a = bootstrap_resample_means(inside, n_resamples=n_resamples, seed=seed + 2 * position + 1)
                    b = bootstrap_resample_means(rest, n_resamples=n_resamples, seed=seed + 2 * position + 2)
                    diff = float(inside.mean() - rest.mean())
                    d_low, d_high = (float(x) for x in np.percentile(a - b, [lo_q, hi_q]))
                    p = permutation_test(inside, rest, n_permutations=n_permutations, seed=seed + position)
            row.update(
                mean=mean, low=low, high=high, difference=diff, difference_low=d_low, difference_high=d_high, p_value=p
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


def _attach_opinion_context(ws: Workspace, scored: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Add ``topic`` (the contribution's cluster in its debate's latest mapping run) and ``vote_group`` (the
    vote group of the contribution's author in that run); values are prefixed with the debate when the log
    spans several debates. Interactions whose contribution is not in the debate get neither."""
    from dembias.workspace.store import corpus_reader

    scored = scored.copy()
    scored["topic"] = None
    scored["vote_group"] = None
    debates = sorted({d for d in scored["debate_id"] if isinstance(d, str)})
    used = []
    for debate in debates:
        run = latest_run(ws, stage="mapping", debate_id=debate)
        if run is None:
            continue
        used.append(run.run_id)
        prefix = f"{debate}:" if len(debates) > 1 else ""
        mask = scored["debate_id"] == debate
        ids = scored.loc[mask, "contribution_id"].astype(str)
        assignments = read_run_table(ws, run.run_id, "assignments")
        topic_of = dict(zip(assignments["contribution_id"].astype(str), assignments["cluster"], strict=True))
        scored.loc[mask, "topic"] = [f"{prefix}{topic_of[c]}" if c in topic_of else None for c in ids]
        try:
            groups = read_run_table(ws, run.run_id, "vote_groups")
        except Exception:  # a debate without votes has no vote groups
            groups = pd.DataFrame(columns=["participant_pid", "vote_group"])
        if groups.empty:
            continue
        group_of = dict(zip(groups["participant_pid"].astype(str), groups["vote_group"], strict=True))
        with corpus_reader(ws, {}) as con:
            authors = select_contributions(
                con, debate_id=debate, include_rejected=True, columns=("contribution_id", "author_pid")
            )
        author_of = dict(zip(authors["contribution_id"].astype(str), authors["author_pid"], strict=True))
        scored.loc[mask, "vote_group"] = [
            f"{prefix}{group_of[author_of[c]]}" if author_of.get(c) in group_of else None for c in ids
        ]
    return scored, used


def _scored_rows(ws: Workspace, debate_id: str | None) -> pd.DataFrame:
    """The scored interactions of the latest ingested ``interactions`` run that holds the debate."""
    from dembias.workspace.store import list_runs

    scored = None
    for run in sorted(list_runs(ws, stage=INTERACTIONS_STAGE), key=lambda r: r.created_at, reverse=True):
        if run.manifest.get("params", {}).get("scope"):
            continue  # a scored run, not an ingested log
        table = read_run_table(ws, run.run_id, "interactions")
        if debate_id is None or (table["debate_id"] == debate_id).any():
            scored = table
            break
    if scored is None:
        where = f" for debate {debate_id!r}" if debate_id else ""
        raise DembiasError(f"no interaction log ingested{where}: run `dembias ingest interactions LOG` first")
    scored = scored.copy()
    scored["flag_kinds"] = scored["flag_kinds"].map(lambda kinds: [str(k) for k in kinds])
    if debate_id is not None:
        scored = scored[scored["debate_id"] == debate_id].reset_index(drop=True)
        if scored.empty:
            raise DembiasError(f"the interaction log has no interaction of debate {debate_id!r}")
    return scored


def score_interaction_log(
    ws: Workspace,
    *,
    debate_id: str | None = None,
    log: str | Path | None = None,
    embedder: Any = None,
    min_cell: int = MIN_CELL,
    seed: int = 0,
    n_resamples: int = 2000,
) -> tuple[RunInfo, dict[str, pd.DataFrame]]:
    """Score interactions (one debate, or all) and store them as a run of stage ``interactions``.

    Tables: ``interactions`` (one row each, with ``topic`` and ``vote_group``), ``report`` (as written by
    ``dembias ingest interactions``), ``rates`` (:func:`rate_table`), ``pull`` (:func:`pull_table`) and
    ``flagged`` (:func:`flagged_table`). Reads ``log`` when given (authors are then stored as given: pass
    a pseudonymised log, or ingest it first), else the latest ingested log that holds the debate.
    """
    if log is not None:
        from dembias.ingest import pseudonymiser_factory

        records = read_interactions(log)
        if any(r.author is not None for r in records):
            factory = pseudonymiser_factory(ws)
            for r in records:
                if r.author is not None:
                    r.author = factory(r.debate_id or "interactions").one(r.author)
        scored = score_interactions(records, embedder=embedder)
        if debate_id is not None:
            scored = scored[scored["debate_id"] == debate_id].reset_index(drop=True)
            if scored.empty:
                raise DembiasError(f"{log}: no interaction of debate {debate_id!r}")
    else:
        scored = _scored_rows(ws, debate_id)
    # the corpus version the opinion context (clusters, vote groups) was read from, when the debate is there
    fingerprint = workspace_fingerprint(ws, debate_id) if debate_id and ws.corpus_path.exists() else None
    scored, mapping_runs = _attach_opinion_context(ws, scored)
    dimensions = ("language", "country", "cluster", "topic", "vote_group")
    rates = rate_table(scored, dimensions=dimensions, min_cell=min_cell)
    tables = {
        "interactions": scored.assign(flag_kinds=scored["flag_kinds"].map(list)),
        "report": interaction_report(scored, min_cell=min_cell),
        "rates": rates,
        "pull": pull_table(scored, dimensions=dimensions, min_cell=min_cell, seed=seed, n_resamples=n_resamples),
        "flagged": flagged_table(scored, rates),
    }
    simulated = bool(scored["labels"].map(lambda s: bool(json.loads(s).get("simulated"))).any())
    info = write_run(
        ws,
        stage=INTERACTIONS_STAGE,
        debate_id=debate_id,
        tables=tables,
        params={
            "source": str(Path(log).resolve()) if log is not None else "latest ingested log",
            "scope": debate_id or "all debates",
            "embedder": getattr(embedder, "model_id", None),
            "min_cell": min_cell,
            "seed": seed,
            "n_resamples": n_resamples,
            "interval": "Wilson 95% (rates); percentile bootstrap 95% (pull)",
            "simulated_outcomes": simulated,
        },
        inputs=mapping_runs,
        fingerprint=fingerprint,
    )
    return info, tables


def interactions_json(info: RunInfo, tables: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The JSON view of a scored interactions run (``dembias score interactions --json``)."""

    def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
        return frame.astype(object).where(frame.notna(), None).to_dict(orient="records")

    return {
        "run_id": info.run_id,
        "debate_id": info.debate_id,
        "params": info.manifest.get("params", {}),
        "rates": records(tables["rates"]),
        "pull": records(tables["pull"]),
        "flagged": records(tables["flagged"]),
    }


def interaction_verdict(rates: pd.DataFrame, pull: pd.DataFrame, flagged: pd.DataFrame, *, simulated: bool) -> str:
    """The plain-language sentence on top of the Interactions page (numbers with their 95% intervals)."""
    everyone = rates[rates["dimension"] == "all"].iloc[0]
    if bool(everyone["suppressed"]):
        return f"Not enough interactions to report: {int(everyone['n_contributors'])} contributors."
    text = (
        f"Citizens accepted {everyone['acceptance_rate']:.0%} of {int(everyone['n'])} suggestions "
        f"(95% interval {everyone['acceptance_low']:.0%}–{everyone['acceptance_high']:.0%}), edited "
        f"{everyone['edit_rate']:.0%} and rejected {everyone['rejection_rate']:.0%}."
    )
    chars = pull[(pull["metric"] == "pull_chars") & (pull["dimension"] == "all")]
    if not chars.empty and pd.notna(chars.iloc[0]["mean"]):
        row = chars.iloc[0]
        text += (
            f" On average the final text moved {row['mean']:.0%} of the way from the draft to the suggestion "
            f"({row['low']:.0%}–{row['high']:.0%})."
        )
    groups = pull[
        (pull["metric"] == "pull_chars")
        & ~pull["dimension"].isin(["all"])
        & pull["difference_low"].notna()
        & ((pull["difference_low"] > 0) | (pull["difference_high"] < 0))
    ]
    if groups.empty:
        text += " No group's pull differs from the others' beyond its interval."
    else:
        top = groups.reindex(groups["difference"].abs().sort_values(ascending=False).index).iloc[0]
        direction = "more" if top["difference"] > 0 else "less"
        text += (
            f" The pull is {direction} for {top['dimension'].replace('_', ' ')} {top['value']} "
            f"({top['difference']:+.2f}, {top['difference_low']:+.2f} to {top['difference_high']:+.2f})."
        )
    if len(flagged):
        stance = flagged[[any(k in STANCE_FLAG_KINDS for k in kinds) for kinds in flagged["flag_kinds"]]]
        kept = int((~flagged["undone"].astype(bool)).sum())
        text += (
            f" {len(flagged)} suggestions were flagged by the fidelity audit ({len(stance)} for stance); "
            f"citizens kept the flagged change in {kept} of them."
        )
    if simulated:
        text += " Outcomes are simulated, to demonstrate the method."
    return text


def demo_stage(ws: Workspace, manifest: dict[str, Any], progress: Any) -> None:
    """Demo build: ingest each interaction log of ``manifest["interactions"]`` and score it (all debates).

    No embedder (character pull only), so the stage adds about a second to the build.
    """
    for path in manifest.get("interactions", []):
        progress(f"interactions {Path(path).name}")
        ingest_interactions(ws, path, embedder=None)
        score_interaction_log(ws, log=path, seed=0)
