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
* **fidelity of the suggestion to the draft**: lexical flags (:mod:`dembias.lexical`) and, with an
  embedder, the cosine similarity of draft and suggestion;
* **pull**, how far the final text moved from the draft toward the suggestion:

  - ``pull_chars = (lev(draft, suggestion) - lev(final, suggestion)) / lev(draft, suggestion)``
    with ``lev`` the character Levenshtein distance: 1 when the final is the suggestion, 0 when it is
    the draft, negative when the final moved away; NaN when the suggestion equals the draft;
  - with an embedder, ``pull_embedding = (sim(final, s) - sim(draft, s)) / (1 - sim(draft, s))`` with
    ``s`` the suggestion (NaN when ``sim(draft, s) > 0.999``).

A slice with fewer than ``k`` distinct contributors (authors, else contributions) is suppressed. Logs
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

from dembias.errors import IngestError
from dembias.ingest.common import read_jsonl_records
from dembias.lexical import base_language, lexical_flags
from dembias.metrics.fidelity import STANCE_FLAG_KINDS
from dembias.store import RunInfo, Workspace, latest_run, read_run_table, write_run

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
    scored: pd.DataFrame, *, dimensions: Sequence[str] = REPORT_DIMENSIONS, k: int = 5
) -> pd.DataFrame:
    """Rates and means per value of each dimension (and ``all``); slices under ``k`` contributors suppressed."""
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
            who = [
                a if isinstance(a, str) else f"contribution:{c}"
                for a, c in zip(group["author_pid"], group["contribution_id"], strict=True)
            ]
            n_contributors = len(set(who))
            suppressed = n_contributors < k
            row: dict[str, Any] = {
                "dimension": dimension,
                "value": value,
                "n": len(group),
                "n_contributors": n_contributors,
                "suppressed": suppressed,
            }
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
    k: int = 5,
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
    report = interaction_report(scored, k=k)
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
            "k": k,
        },
        inputs=mapping_runs,
    )
    return info, report
