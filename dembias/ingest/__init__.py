"""Ingestion: one reader module per source format, and transactional entry points.

Each ``ingest_*`` function reads and validates a source and writes it inside one
:func:`dembias.workspace.corpus.corpus_writer` transaction: on any error (an :class:`~dembias.errors.IngestError`
naming the file, row and field) the workspace is left exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dembias.ingest.contributions import ContributionsOptions, read_contributions
from dembias.ingest.debate_storage import store_debate
from dembias.ingest.outputs import read_outputs_jsonl, store_outputs
from dembias.ingest.polis import read_polis
from dembias.ingest.pseudonym import Pseudonymiser, load_key
from dembias.ingest.sensemaker import read_sensemaker
from dembias.workspace.corpus import corpus_writer
from dembias.workspace.folder import Workspace

__all__ = [
    "ingest_contributions",
    "ingest_outputs",
    "ingest_polis",
    "ingest_sensemaker",
    "pseudonymiser_factory",
]


def pseudonymiser_factory(ws: Workspace) -> Callable[[str], Pseudonymiser]:
    """A function giving the :class:`Pseudonymiser` of a debate, keyed by the workspace's key."""
    key = load_key(ws.key_path)
    return lambda debate_id: Pseudonymiser(key, debate_id)


def ingest_polis(
    ws: Workspace,
    folder: str | Path,
    *,
    debate_id: str | None = None,
    country: str | None = None,
    language: str | None = None,
    encoding: str | None = None,
    replace: bool = False,
) -> dict[str, Any]:
    """Ingest a Polis export folder; returns counts (contributions, vote rows read, votes kept)."""
    with corpus_writer(ws) as con:
        bundle = read_polis(
            folder,
            pseudonymiser_for=pseudonymiser_factory(ws),
            debate_id=debate_id,
            country=country,
            language=language,
            encoding=encoding,
        )
        return store_debate(con, bundle, replace=replace, source=folder)


def ingest_contributions(
    ws: Workspace,
    path: str | Path,
    *,
    replace: bool = False,
    columns: Mapping[str, str] | None = None,
    **options: object,
) -> dict[str, dict[str, Any]]:
    """Ingest a generic contributions file (``options``: the fields of :class:`ContributionsOptions`)."""
    read_options = ContributionsOptions(columns=columns, **options)
    with corpus_writer(ws) as con:
        bundles = read_contributions(path, pseudonymiser_for=pseudonymiser_factory(ws), options=read_options)
        return {b.debate.debate_id: store_debate(con, b, replace=replace, source=path) for b in bundles}


def ingest_outputs(ws: Workspace, path: str | Path, *, encoding: str | None = None, replace: bool = False) -> int:
    """Ingest a model-outputs JSONL file; returns the number of outputs stored."""
    records = read_outputs_jsonl(path, encoding=encoding)
    with corpus_writer(ws) as con:
        return store_outputs(con, records, replace=replace)


def ingest_sensemaker(
    ws: Workspace,
    summary_path: str | Path,
    *,
    debate_id: str,
    comments_path: str | Path | None = None,
    replace: bool = False,
) -> int:
    """Ingest a Sensemaker report as a summary output of ``debate_id``; returns its number of units."""
    record = read_sensemaker(summary_path, debate_id=debate_id, comments_path=comments_path)
    with corpus_writer(ws) as con:
        store_outputs(con, [record], replace=replace)
    return len(record.units)
