"""Model outputs: the JSONL reader, sentence units, and storing outputs with their citations.

One JSON object per line::

    {"debate_id": "scoop-hivemind.ubi", "task": "summary", "model": "my-llm-7b", "prompt_id": "summary-v1",
     "text": "Most participants support a trial. [12, 40] A minority fears inflation. [7]",
     "inline_citations": true}
    {"debate_id": "scoop-hivemind.ubi", "task": "reformulation", "model": "my-llm-7b",
     "source_ids": ["12"], "text": "A universal basic income should be trialled first."}
    {"debate_id": "scoop-hivemind.ubi", "task": "translation", "model": "my-llm-7b", "target_language": "fr",
     "source_ids": ["12"], "text": "Un revenu de base universel devrait d'abord être testé."}

Fields: ``debate_id``, ``task`` (summary | reformulation | translation), ``model`` and ``text`` are
required; ``source_ids`` is required for reformulations and translations; ``target_language`` for
translations. Optional: ``output_id`` (default: a hash of the line's content), ``prompt_id``,
``prompt``, ``params`` (object), ``units`` (a list of ``{"text": ..., "citations": [ids]}``, for outputs
that come already split), ``inline_citations`` (true: bracketed lists of contribution ids such as
``[12]`` or ``[12, 40]`` in the text are citations of the sentence they end).
Without ``units``, a summary is split into sentences; a reformulation or translation is one unit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from dembias.errors import IngestError
from dembias.ingest.sentences import split_sentences
from dembias.ingest.source_files import read_jsonl_records
from dembias.workspace.corpus import insert_frame
from dembias.workspace.debates import corpus_debate_ids
from dembias.workspace.output_writes import (
    contribution_ids_of_debate,
    corpus_has_output,
    delete_output,
)

if TYPE_CHECKING:
    import duckdb

TASKS = ("summary", "reformulation", "translation")
_INLINE_CITATION = re.compile(r"\[\s*(?:#?[\w.-]+)(?:\s*[,;]\s*#?[\w.-]+)*\s*\]")


@dataclass
class OutputUnit:
    """One unit of an output (a sentence, bullet or paragraph) and the contributions it cites."""

    text: str
    citations: list[str] = field(default_factory=list)
    kind: str | None = None
    section: str | None = None


@dataclass
class OutputRecord:
    """A model output ready to store."""

    output_id: str
    debate_id: str
    task: str
    model: str
    text: str
    units: list[OutputUnit]
    prompt_id: str | None = None
    prompt: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    target_language: str | None = None
    source_ids: list[str] = field(default_factory=list)
    origin: str | None = None
    row: int | None = None


def extract_inline_citations(sentence: str) -> tuple[str, list[str]]:
    """Remove bracketed id lists such as ``[12, 40]`` from a sentence; return (clean text, ids)."""
    ids: list[str] = []
    for match in _INLINE_CITATION.finditer(sentence):
        ids.extend(part.strip().lstrip("#") for part in re.split(r"[,;]", match.group(0)[1:-1]))
    clean = _INLINE_CITATION.sub("", sentence)
    clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
    return re.sub(r"\s{2,}", " ", clean).strip(), [i for i in ids if i]


def units_from_text(
    text: str, *, task: str, inline_citations: bool = False, language: str | None = None
) -> list[OutputUnit]:
    """Units of an output that came as plain text: sentences of a summary (:mod:`dembias.ingest.sentences`).

    ``language`` is a hint for the splitter; without it the text's language is detected.
    """
    if task != "summary":
        return [OutputUnit(text=text.strip(), kind="text")]
    units = []
    for sentence in split_sentences(text, language=language):
        if inline_citations:
            clean, ids = extract_inline_citations(sentence)
            if clean:
                units.append(OutputUnit(text=clean, citations=ids, kind="sentence"))
            elif units:  # "Taxes. [7]": a citation after the full stop belongs to the sentence before it
                units[-1].citations.extend(ids)
        else:
            units.append(OutputUnit(text=sentence, kind="sentence"))
    return units


def output_id_for(*parts: object) -> str:
    """A stable output id from the parts that define an output."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
    return "o_" + digest[:16]


def read_outputs_jsonl(path: str | Path, *, encoding: str | None = None) -> list[OutputRecord]:
    """Read and validate a model-outputs JSONL file (see the module docstring for the fields)."""
    return read_jsonl_records(
        path,
        encoding=encoding,
        parse=_record_from_json,
        id_of=lambda record: record.output_id,
        id_field="output_id",
        what="outputs",
    )


def _record_from_json(path: Path, line_no: int, obj: dict[str, Any]) -> OutputRecord:
    def text_field(name: str, *, required: bool) -> str | None:
        value = obj.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise IngestError(path, "missing or empty", row=line_no, field=name)
            return None
        if not isinstance(value, str):
            raise IngestError(path, f"must be a string, got {type(value).__name__}", row=line_no, field=name)
        return value

    task = text_field("task", required=True)
    if task not in TASKS:
        raise IngestError(path, f"unknown task {task!r}; expected one of {list(TASKS)}", row=line_no, field="task")
    debate_id = text_field("debate_id", required=True)
    model = text_field("model", required=True)
    text = text_field("text", required=True)
    source_ids = _id_list(path, line_no, obj.get("source_ids"), "source_ids")
    if task in ("reformulation", "translation") and not source_ids:
        raise IngestError(path, f"a {task} needs the ids of its source contributions", row=line_no, field="source_ids")
    target_language = text_field("target_language", required=task == "translation")
    params = obj.get("params") or {}
    if not isinstance(params, dict):
        raise IngestError(path, "must be a JSON object", row=line_no, field="params")
    if obj.get("units") is not None:
        units = _units_from_json(path, line_no, obj["units"])
    else:
        units = units_from_text(text, task=task, inline_citations=bool(obj.get("inline_citations")))
    if not units:
        raise IngestError(path, "the text has no sentence to audit", row=line_no, field="text")
    output_id = text_field("output_id", required=False) or output_id_for(
        debate_id, task, model, obj.get("prompt_id"), source_ids, target_language, text
    )
    return OutputRecord(
        output_id=output_id,
        debate_id=debate_id,
        task=task,
        model=model,
        text=text,
        units=units,
        prompt_id=text_field("prompt_id", required=False),
        prompt=text_field("prompt", required=False),
        params=params,
        target_language=target_language,
        source_ids=source_ids,
        origin=str(path),
        row=line_no,
    )


def _id_list(path: Path, line_no: int, value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in value):
        raise IngestError(path, "must be a list of contribution ids", row=line_no, field=name)
    return [str(v) for v in value]


def _units_from_json(path: Path, line_no: int, value: Any) -> list[OutputUnit]:
    if not isinstance(value, list):
        raise IngestError(path, "must be a list of {text, citations} objects", row=line_no, field="units")
    units = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("text"), str) or not item["text"].strip():
            raise IngestError(path, f"unit {i} needs a non-empty text", row=line_no, field="units")
        for name in ("kind", "section"):
            if not isinstance(item.get(name), str | None):
                raise IngestError(path, f"unit {i}: {name} must be a string", row=line_no, field=f"units[{i}].{name}")
        units.append(
            OutputUnit(
                text=item["text"].strip(),
                citations=_id_list(path, line_no, item.get("citations"), f"units[{i}].citations"),
                kind=item.get("kind"),
                section=item.get("section"),
            )
        )
    return units


# --------------------------------------------------------------------------------------------------
# storing


def store_outputs(con: duckdb.DuckDBPyConnection, records: Sequence[OutputRecord], *, replace: bool = False) -> int:
    """Store outputs with their units and citations, checking every id against the corpus.

    Raises :class:`IngestError` (naming the record's file and row) for an unknown debate, a citation or
    source id that the debate does not have, or an output id that exists (unless ``replace``).
    """
    if not records:
        return 0
    debates = set(corpus_debate_ids(con))
    known: dict[str, set[str]] = {}
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    rows, unit_rows, citation_rows = [], [], []
    for rec in records:
        ids = _check_record(con, rec, debates, known)
        _make_room(con, rec, replace=replace)
        rows.append(_output_row(rec, now))
        for index, unit in enumerate(rec.units):
            unit_rows.append(
                {
                    "output_id": rec.output_id,
                    "unit_index": index,
                    "text": unit.text,
                    "kind": unit.kind,
                    "section": unit.section,
                }
            )
            citation_rows += _citation_rows(rec, index, unit, ids)
    insert_frame(con, "outputs", pd.DataFrame(rows))
    insert_frame(con, "output_units", pd.DataFrame(unit_rows))
    if citation_rows:
        insert_frame(con, "citations", pd.DataFrame(citation_rows))
    return len(rows)


def _check_record(
    con: duckdb.DuckDBPyConnection, rec: OutputRecord, debates: set[str], known: dict[str, set[str]]
) -> set[str]:
    """The contribution ids of the record's debate (cached in ``known``), once its debate and sources exist."""
    where = rec.origin or "outputs"
    if rec.debate_id not in debates:
        raise IngestError(where, f"unknown debate {rec.debate_id!r}; ingest it first", row=rec.row, field="debate_id")
    if rec.debate_id not in known:
        known[rec.debate_id] = contribution_ids_of_debate(con, rec.debate_id)
    ids = known[rec.debate_id]
    for sid in rec.source_ids:
        if sid not in ids:
            raise IngestError(
                where, f"source contribution {sid!r} is not in the debate", row=rec.row, field="source_ids"
            )
    return ids


def _make_room(con: duckdb.DuckDBPyConnection, rec: OutputRecord, *, replace: bool) -> None:
    """An output id that exists is an error, or with ``replace`` its rows are deleted."""
    if not corpus_has_output(con, rec.output_id):
        return
    if not replace:
        raise IngestError(
            rec.origin or "outputs",
            f"output {rec.output_id!r} already exists",
            row=rec.row,
            field="output_id",
            hint="pass --replace to replace it",
        )
    delete_output(con, rec.output_id)


def _output_row(rec: OutputRecord, now: dt.datetime) -> dict[str, Any]:
    return {
        "output_id": rec.output_id,
        "debate_id": rec.debate_id,
        "task": rec.task,
        "model": rec.model,
        "prompt_id": rec.prompt_id,
        "prompt": rec.prompt,
        "params": json.dumps(rec.params, ensure_ascii=False, sort_keys=True, default=str),
        "target_language": rec.target_language,
        "source_ids": list(rec.source_ids),
        "text": rec.text,
        "origin": rec.origin,
        "created_at": now,
    }


def _citation_rows(rec: OutputRecord, index: int, unit: OutputUnit, ids: set[str]) -> list[dict[str, Any]]:
    """The unit's citations (repeats once), each checked against the debate's contributions."""
    rows = []
    for cid in dict.fromkeys(unit.citations):
        if cid not in ids:
            raise IngestError(
                rec.origin or "outputs",
                f"unit {index} cites contribution {cid!r}, which the debate does not have",
                row=rec.row,
                field="citations",
            )
        rows.append({"output_id": rec.output_id, "unit_index": index, "contribution_id": cid})
    return rows
