"""What the fidelity stage reads from a workspace: the rewrite pairs, the debate's null pool, the opinion clusters.

A pair is one output of task ``reformulation`` or ``translation`` with its source contribution(s) (several
sources are joined with a line break, in ``source_ids`` order). The output's language is **detected**
(py3langid), never assumed (:func:`load_pairs`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

from dembias.errors import DembiasError
from dembias.fidelity.lexical import base_language
from dembias.ingest.language import detect_language
from dembias.minority import minority_cluster_ids
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from dembias.workspace.rewrites import rewrites_and_sources
from dembias.workspace.runs import latest_run, read_run_table
from dembias.workspace.stage import STAGES
from dembias.workspace.staleness import debate_fingerprint

MAPPING_STAGE = STAGES["opinion_map"]  # the run the map stage writes (one definition: workspace.stage)

#: The columns of every pair, before the ``group_by`` keys.
PAIR_BASE_COLUMNS = (
    "output_id",
    "debate_id",
    "task",
    "model",
    "source_ids",
    "source_text",
    "output_text",
    "source_language",
    "target_language",
    "output_language",
    "language_pair",
    "country",
    "vote_group",
    "contributors",
)


def _single(values: Sequence[Any]) -> Any:
    """The one value all non-missing ``values`` share, else None."""
    present = {v for v in values if v is not None and not (isinstance(v, float) and np.isnan(v))}
    return present.pop() if len(present) == 1 else None


def _metadata_value(raw: Any, key: str) -> Any:
    """``key`` of a contribution's metadata JSON (None when absent or unreadable)."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        value = json.loads(raw).get(key)
    except (ValueError, AttributeError):
        return None
    return None if value in ("", None) else str(value)


def _group_values(found: pd.DataFrame, group_by: Sequence[str]) -> dict[str, Any]:
    """Per ``group_by`` key, the value the sources' metadata all share (else None)."""
    return {key: _single([_metadata_value(m, key) for m in found["metadata"]]) for key in group_by}


def _kept_rewrites(
    ws: Workspace, debate_id: str | None, *, include_rejected: bool
) -> Iterator[tuple[Any, pd.DataFrame]]:
    """Each rewrite output with its sources, outputs of a rejected source left out unless ``include_rejected``."""
    outputs, sources = rewrites_and_sources(ws, debate_id)
    for out in outputs.itertuples(index=False):
        found = sources[out.debate_id].loc[[str(s) for s in out.source_ids]]
        if include_rejected or not bool(found["is_rejected"].any()):
            yield out, found


def _pair_row(out: Any, found: pd.DataFrame, group_by: Sequence[str]) -> dict[str, Any]:
    """One pair: the output, its sources' text joined, languages (source, asked for, detected) and metadata."""
    ids = [str(s) for s in out.source_ids]
    languages = [base_language(x) for x in found["language"] if isinstance(x, str) and x]
    source_text = "\n".join(found["text"].tolist())
    source_language = Counter(languages).most_common(1)[0][0] if languages else detect_language(source_text)
    if isinstance(out.target_language, str) and out.target_language:
        target_language = base_language(out.target_language)
    elif out.task == "reformulation":
        target_language = source_language
    else:
        target_language = detect_language(out.output_text)
    group = _single([None if pd.isna(g) else int(g) for g in found["published_group"]])
    authors = [a for a in found["author_pid"] if isinstance(a, str) and a]
    return {
        "output_id": out.output_id,
        "debate_id": out.debate_id,
        "task": out.task,
        "model": out.model,
        "source_ids": ids,
        "source_text": source_text,
        "output_text": out.output_text,
        "source_language": source_language,
        "target_language": target_language,
        "output_language": base_language(detect_language(out.output_text)),
        "language_pair": f"{source_language}->{target_language}",
        "country": _single(list(found["country"])),
        "vote_group": None if group is None else str(group),
        "contributors": sorted(set(authors)) if authors else ids,
        **_group_values(found, group_by),
    }


def _as_text(column: pd.Series) -> pd.Series:
    """A column of text values with the dtype pandas gives text even when every value is missing, so that a
    debate's run table has the same schema whether it was scored alone or beside debates that have values."""
    return column.astype(pd.Series(["text"]).dtype) if column.isna().all() else column


def _check_not_a_pair_column(group_by: Sequence[str]) -> None:
    clash = sorted(set(group_by) & set(PAIR_BASE_COLUMNS))
    if clash:
        raise DembiasError(f"--group-by {clash}: already a column of every pair, not a metadata key")


def _check_keys_found(ws: Workspace, values: pd.DataFrame, group_by: Sequence[str]) -> None:
    for key in group_by:
        if len(values) and values[key].isna().all():
            raise DembiasError(f"no source metadata key {key!r} to group fidelity by (in {ws.root})")


def load_pairs(
    ws: Workspace,
    *,
    debate_id: str | None = None,
    include_rejected: bool = False,
    group_by: Sequence[str] = (),
    check_keys: bool = True,
) -> pd.DataFrame:
    """Every reformulation/translation output with its source text(s) and the sources' metadata.

    Columns: output_id, debate_id, task, model, source_ids, source_text, output_text, source_language,
    target_language, output_language, language_pair, country, vote_group, contributors, then one column
    per ``group_by`` name (a key of the sources' metadata JSON, e.g. make.org's ``theme``; the value all
    sources share, else missing). Outputs of a rejected source are left out unless ``include_rejected``.
    A source without its own language or country takes its debate's. ``target_language`` is the language
    asked for: the output's declared one, else for a reformulation its source language, else the detected
    one. ``output_language`` is always detected from the output text (py3langid). With ``check_keys``, a
    ``group_by`` key no pair has a value of is refused (see :func:`check_group_by_keys`).
    """
    group_by = list(dict.fromkeys(group_by))
    _check_not_a_pair_column(group_by)
    rows = [
        _pair_row(out, found, group_by)
        for out, found in _kept_rewrites(ws, debate_id, include_rejected=include_rejected)
    ]
    frame = pd.DataFrame(rows, columns=[*PAIR_BASE_COLUMNS, *group_by])
    for column in ("country", "vote_group", *group_by):
        frame[column] = _as_text(frame[column])
    if check_keys:
        _check_keys_found(ws, frame, group_by)
    return frame


def check_group_by_keys(
    ws: Workspace, group_by: Sequence[str], *, debate_id: str | None = None, include_rejected: bool = False
) -> None:
    """Refuse a ``group_by`` key that is a pair column, or that no rewrite of ``debate_id`` (None: of any
    debate) has a value of: a misspelt key would otherwise slice nothing, silently.

    The stage (:func:`dembias.fidelity.run`) scores one debate and takes a key its debate lacks as an empty
    dimension; a caller checks the keys once over every debate it asks for.
    """
    _check_not_a_pair_column(group_by)
    if group_by:
        kept = _kept_rewrites(ws, debate_id, include_rejected=include_rejected)
        values = pd.DataFrame([_group_values(found, group_by) for _, found in kept], columns=list(group_by))
        _check_keys_found(ws, values, group_by)


def debate_pool(ws: Workspace, debate_id: str, *, include_rejected: bool) -> tuple[pd.DataFrame, str]:
    """The debate's contributions (the null pool of similarity) and the corpus fingerprint of the debate."""
    con = open_corpus(ws)
    try:
        pool = select_contributions(
            con, debate_id=debate_id, include_rejected=include_rejected, columns=("contribution_id", "text")
        )
        return pool, debate_fingerprint(con, debate_id)
    finally:
        con.close()


def attach_clusters(ws: Workspace, pairs: pd.DataFrame, debate_id: str) -> tuple[pd.DataFrame, list[str]]:
    """Add ``cluster`` (of the first source, from the latest mapping run) and ``cluster_size``.

    ``cluster_size`` is ``minority`` / ``majority`` (minority topics as the pluralism scores define them:
    :func:`dembias.minority.minority_cluster_ids`) or ``noise``.
    Without a mapping run both are missing. Returns the frame and the mapping run ids used.
    """
    pairs = pairs.copy()
    run = latest_run(ws, stage=MAPPING_STAGE, debate_id=debate_id)
    if run is None:
        pairs["cluster"] = None
        pairs["cluster_size"] = None
        return pairs, []
    assignments = read_run_table(ws, run.run_id, "assignments")
    cluster_of = dict(zip(assignments["contribution_id"].astype(str), assignments["cluster"].astype(str), strict=True))
    sizes = Counter(int(c) for c in assignments["cluster"])
    minority = {str(c) for c in minority_cluster_ids(dict(sizes))}
    pairs["cluster"] = [cluster_of.get(ids[0]) if len(ids) else None for ids in pairs["source_ids"]]
    pairs["cluster_size"] = [
        None if c is None else "noise" if c == "-1" else "minority" if c in minority else "majority"
        for c in pairs["cluster"]
    ]
    return pairs, [run.run_id]
