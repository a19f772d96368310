"""Bot-citizen interaction logs: what citizens did with a model's suggested rewrite of their draft; reading one.

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
``labels`` (an object of free labels; ``labels.cluster`` is used when ``cluster`` is absent). One log may
hold the interactions of several debates.

What is computed from a log: :mod:`dembias.fidelity.interaction_scores` (per interaction),
:mod:`dembias.fidelity.interaction_slices` (per language, country, cluster...), and the runs that store it,
:mod:`dembias.fidelity.interaction_runs`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dembias.errors import IngestError
from dembias.fidelity.lexical import base_language
from dembias.ingest.source_files import read_jsonl_records

OUTCOMES = ("accepted", "edited", "rejected")

TASKS = ("reformulation", "translation")


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
