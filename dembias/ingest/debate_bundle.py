"""A debate as a reader hands it over for storage: the debate's record, its contributions, participants and votes.

Readers turn a source into a :class:`DebateBundle` (plain DataFrames, votes as a stream of chunks);
:func:`dembias.ingest.debate_storage.store_debate` writes it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

CONTRIBUTION_COLUMNS = (
    "debate_id",
    "contribution_id",
    "author_pid",
    "text",
    "language",
    "country",
    "created_at",
    "n_agree",
    "n_disagree",
    "n_pass",
    "moderation",
    "is_rejected",
    "metadata",
)


@dataclass
class DebateRecord:
    """One row of the ``debates`` table."""

    debate_id: str
    title: str
    platform: str
    question: str | None = None
    source_url: str | None = None
    country: str | None = None
    language: str | None = None
    licence: str | None = None
    attribution: str | None = None
    source_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The record as a one-row frame ready for :func:`dembias.workspace.corpus.insert_frame`."""
        row = asdict(self)
        row["extra"] = json.dumps(row["extra"], ensure_ascii=False, sort_keys=True)
        row["ingested_at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        return pd.DataFrame([row])


@dataclass
class DebateBundle:
    """A debate as read from a source, before storage.

    ``votes`` yields frames with columns contribution_id, participant_pid, vote, voted_at, row_number
    (the source row, for error messages); several votes of one voter on one comment may appear, and
    the last one (by time, then by row) wins when stored.
    """

    debate: DebateRecord
    contributions: pd.DataFrame | Iterable[pd.DataFrame]
    participants: pd.DataFrame | None = None
    votes: Iterable[pd.DataFrame] = ()
    contributions_source: str | None = None
    votes_source: str | None = None
    id_field: str = "comment-id"
    vote_id_field: str = "comment-id"
    #: rows the reader skipped on purpose, by reason (reported in the ingest summary as skipped_<reason>)
    skipped: dict[str, int] = field(default_factory=dict)
    #: ids of contributions the reader skipped: votes on them are skipped and counted, never an error
    skipped_ids: frozenset[str] = frozenset()
    #: "error" (a vote on a contribution the debate lacks is refused) or "skip" (skipped and counted:
    #: Polis exports publish votes on comments they do not publish)
    votes_on_unknown: str = "error"
    #: called once the contributions are stored: more lines for the ingest summary (personal data...)
    report: Callable[[], dict[str, Any]] | None = None


def empty_contributions() -> pd.DataFrame:
    """A contributions frame with every column and no rows."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in CONTRIBUTION_COLUMNS})
