"""Storing a debate bundle in the corpus, inside the caller's :func:`~dembias.workspace.corpus.corpus_writer`.

Contributions and votes are streamed through staging tables: duplicate ids, an empty source and votes
on contributions the debate lacks are refused (or skipped and counted, as the bundle says); each voter's
last vote wins. A reader that fails at any point leaves the workspace unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dembias.errors import IngestError
from dembias.ingest.debate_bundle import CONTRIBUTION_COLUMNS, DebateBundle
from dembias.workspace.corpus import insert_frame
from dembias.workspace.debate_writes import (
    count_staged_votes_to_missing_contributions,
    create_contributions_staging,
    create_votes_staging,
    delete_debate,
    delete_staged_votes_to_missing_contributions,
    first_duplicate_contribution,
    first_staged_vote_to_missing_contribution,
    move_last_staged_votes,
    move_staged_contributions,
)
from dembias.workspace.debates import corpus_has_debate, count_debate_votes

if TYPE_CHECKING:
    import duckdb


def store_debate(
    con: duckdb.DuckDBPyConnection, bundle: DebateBundle, *, replace: bool = False, source: str | Path = ""
) -> dict[str, Any]:
    """Write a debate bundle; returns counts. Votes are deduplicated (last vote wins) in SQL.

    ``bundle.contributions`` is one frame or an iterable of frames (streamed in chunks). Raises
    :class:`IngestError` when the debate exists and ``replace`` is false, when the source has no
    contribution, when a contribution id repeats, or when a vote names a contribution that the debate
    does not have (unless ``bundle.votes_on_unknown`` is "skip": then such votes are skipped and
    counted). Rows skipped on purpose appear in the counts as ``skipped_<reason>``.
    """
    debate_id = bundle.debate.debate_id
    _check_debate_id(debate_id, source)
    _make_room_for_debate(con, debate_id, replace=replace, source=source)
    insert_frame(con, "debates", bundle.debate.to_frame())
    n_contributions = _store_contributions(con, bundle, source=source)
    if bundle.participants is not None and len(bundle.participants):
        participants = bundle.participants.copy()
        participants["debate_id"] = debate_id
        insert_frame(con, "participants", participants[["debate_id", "participant_pid", "published_group"]])
    n_raw, skipped = _store_votes(con, bundle, source=source)
    n_votes = count_debate_votes(con, debate_id)
    counts: dict[str, Any] = {"contributions": n_contributions, "vote_rows": n_raw, "votes": n_votes}
    counts.update({f"skipped_{reason}": n for reason, n in skipped.items()})
    if bundle.report is not None:
        counts.update(bundle.report())
    return counts


def _check_debate_id(debate_id: object, source: str | Path) -> None:
    if (
        not isinstance(debate_id, str)
        or not debate_id.strip()
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in debate_id)
    ):
        raise IngestError(
            source or "the debate",
            f"debate id {debate_id!r}: give a non-blank id without control characters",
            field="debate_id",
        )


def _make_room_for_debate(con: duckdb.DuckDBPyConnection, debate_id: str, *, replace: bool, source: str | Path) -> None:
    """A debate that exists is an error, or with ``replace`` it is deleted first."""
    if not corpus_has_debate(con, debate_id):
        return
    if not replace:
        raise IngestError(
            source or debate_id,
            f"debate {debate_id!r} already exists in the workspace",
            field="debate_id",
            hint="pass --replace to replace it",
        )
    delete_debate(con, debate_id)


def _store_contributions(con: duckdb.DuckDBPyConnection, bundle: DebateBundle, *, source: str | Path) -> int:
    """Stream the contributions through a staging table: duplicate ids and an empty source are errors."""
    debate_id = bundle.debate.debate_id
    chunks = [bundle.contributions] if isinstance(bundle.contributions, pd.DataFrame) else bundle.contributions
    staging = create_contributions_staging(con)
    n_contributions = 0
    for chunk in chunks:
        frame = chunk.copy()
        if "_row" not in frame.columns:
            frame["_row"] = np.arange(n_contributions + 2, n_contributions + 2 + len(frame), dtype=np.int64)
        n_contributions += insert_frame(con, staging, frame[[*CONTRIBUTION_COLUMNS[1:], "_row"]])
    duplicate = first_duplicate_contribution(con, staging)
    if duplicate:
        raise IngestError(
            bundle.contributions_source or source,
            f"duplicate contribution id {duplicate[0]!r}",
            row=int(duplicate[1]),
            field=bundle.id_field,
        )
    if n_contributions == 0:
        raise IngestError(
            bundle.contributions_source or source,
            f"no contributions: the file has no rows for debate {debate_id!r}",
            hint="nothing was stored",
        )
    move_staged_contributions(con, staging, debate_id)
    return n_contributions


def _store_votes(
    con: duckdb.DuckDBPyConnection, bundle: DebateBundle, *, source: str | Path
) -> tuple[int, dict[str, int]]:
    """Stream the votes through a staging table, keep each voter's last vote; raw rows and skipped counts."""
    debate_id = bundle.debate.debate_id
    staging = create_votes_staging(con)
    n_raw = 0
    for chunk in bundle.votes:
        n_raw += insert_frame(
            con, staging, chunk[["contribution_id", "participant_pid", "vote", "voted_at", "row_number"]]
        )
    skipped = {k: v for k, v in bundle.skipped.items() if v}
    if bundle.votes_on_unknown == "skip":
        skipped.update(_skip_votes_on_unknown(con, bundle, staging))
    missing = first_staged_vote_to_missing_contribution(con, staging, debate_id)
    if missing:
        raise IngestError(
            bundle.votes_source or source,
            f"vote for contribution {missing[1]!r}, which the debate does not have",
            row=int(missing[0]),
            field=bundle.vote_id_field,
        )
    move_last_staged_votes(con, staging, debate_id)
    return n_raw, skipped


def _skip_votes_on_unknown(con: duckdb.DuckDBPyConnection, bundle: DebateBundle, staging: str) -> dict[str, int]:
    """Delete the staged votes on contributions the debate does not have; how many, by reason."""
    debate_id = bundle.debate.debate_id
    on_skipped, on_unknown = count_staged_votes_to_missing_contributions(
        con, staging, debate_id, sorted(bundle.skipped_ids)
    )
    delete_staged_votes_to_missing_contributions(con, staging, debate_id)
    skipped = {}
    if on_skipped:
        skipped["votes_on_skipped_comments"] = int(on_skipped)
    if on_unknown:
        skipped["votes_on_unknown_comments"] = int(on_unknown)
    return skipped
