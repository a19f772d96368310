"""A debate's votes and the opinion groups Polis published for its participants, as stored in the corpus.

Votes follow Polis open data: 1 = agree, -1 = disagree, 0 = pass; the last vote of a participant on a
comment counts (:func:`debate_votes` keeps only that one).
"""

from __future__ import annotations

import pandas as pd

from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace

SQL_VOTES = """
SELECT v.participant_pid, v.contribution_id, v.vote
FROM votes v
JOIN contributions c USING (debate_id, contribution_id)
WHERE v.debate_id = ? AND (? OR NOT c.is_rejected)
QUALIFY row_number() OVER (
    PARTITION BY v.participant_pid, v.contribution_id ORDER BY v.voted_at DESC NULLS LAST
) = 1
"""

SQL_PUBLISHED = """
SELECT participant_pid, published_group FROM participants
WHERE debate_id = ? AND published_group IS NOT NULL
"""


def debate_votes(ws: Workspace, debate_id: str, *, include_rejected: bool = False) -> pd.DataFrame:
    """Votes ``(participant_pid, contribution_id, vote)`` of a debate, one per voter and comment (the last).

    Votes on rejected contributions are left out unless ``include_rejected``.
    """
    con = open_corpus(ws)
    try:
        return con.execute(SQL_VOTES, [debate_id, include_rejected]).df()
    finally:
        con.close()


def published_groups(ws: Workspace, debate_id: str) -> pd.DataFrame:
    """``(participant_pid, published_group)`` of each participant Polis published a group for."""
    con = open_corpus(ws)
    try:
        return con.execute(SQL_PUBLISHED, [debate_id]).df()
    finally:
        con.close()
