"""The rows behind "What it left out": a topic's or opinion group's contributions page by page, how each vote group
voted on them, and their countries or languages (:mod:`dembias.read.left_out` withholds the small cells).

The functions that take ``con`` read a corpus opened by :func:`.connections.corpus_with_runs` with the mapping run
attached as ``m``.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from dembias.read.queries.connections import attached_table_exists, corpus_with_runs
from dembias.workspace.folder import Workspace

SQL_SLICE = """
FROM m.assignments a
JOIN contributions c ON c.debate_id = $debate AND c.contribution_id = a.contribution_id
JOIN debates d ON d.debate_id = $debate
LEFT JOIN m.clusters cl ON cl.cluster = a.cluster
WHERE ($cluster IS NULL OR a.cluster = $cluster)
  AND ($ids IS NULL OR list_contains($ids, a.contribution_id))
  AND ($search = '' OR contains(lower(c.text), lower($search)))
"""

SQL_SLICE_PAGE = (
    """
SELECT c.contribution_id, c.text, coalesce(c.country, d.country, 'unknown') AS country,
       coalesce(c.language, d.language, 'unknown') AS language, a.cluster, cl.label AS cluster_label,
       coalesce(c.n_agree, 0) + coalesce(c.n_disagree, 0) + coalesce(c.n_pass, 0) AS n_votes
"""
    + SQL_SLICE
    + """
ORDER BY n_votes DESC, c.contribution_id
LIMIT $limit OFFSET $offset
"""
)

COMMENT_VOTE_COLUMNS = ["contribution_id", "vote_group", "n_agree", "n_disagree", "n_pass", "n_seen"]

SQL_VOTE_RATES = """
WITH grouped AS (  -- each grouped voter's last vote on each chosen contribution (as in dembias.workspace.votes)
    SELECT g.vote_group, v.participant_pid, v.vote
    FROM votes v
    JOIN m.vote_groups g ON g.participant_pid = v.participant_pid
    WHERE v.debate_id = $debate AND list_contains($ids, v.contribution_id)
    QUALIFY row_number() OVER (
        PARTITION BY v.participant_pid, v.contribution_id ORDER BY v.voted_at DESC NULLS LAST
    ) = 1
)
SELECT vote_group, count(DISTINCT participant_pid) AS n_voters, count(*) AS n_votes,
       avg(CASE WHEN vote = 1 THEN 1.0 ELSE 0.0 END) AS agree,
       avg(CASE WHEN vote = -1 THEN 1.0 ELSE 0.0 END) AS disagree,
       avg(CASE WHEN vote = 0 THEN 1.0 ELSE 0.0 END) AS pass
FROM grouped GROUP BY vote_group ORDER BY vote_group
"""

SQL_SLICE_BREAKDOWN = """
SELECT coalesce(c.{column}, d.{column}, 'unknown') AS value, count(*) AS n, count(DISTINCT c.author_pid) AS n_authors
FROM contributions c JOIN debates d ON d.debate_id = c.debate_id
WHERE c.debate_id = $debate AND list_contains($ids, c.contribution_id)
GROUP BY ALL ORDER BY n DESC, value
"""


def left_out_slice(
    con: duckdb.DuckDBPyConnection,
    *,
    debate_id: str,
    cluster: int | None,
    ids: list[str] | None,
    search: str,
    limit: int,
    offset: int,
) -> tuple[int, pd.DataFrame]:
    """``(total, rows)``: the mapped contributions of cluster ``cluster`` (None: any) among ``ids`` (None: any) whose
    text contains ``search`` (case-insensitive; '' matches all), how many in all, and ``limit`` of them from
    ``offset``, most-voted first, with country and language (the debate's when the contribution has none),
    cluster, cluster label and n_votes."""
    params = {"debate": debate_id, "cluster": cluster, "ids": ids, "search": search}
    total = int(con.execute("SELECT count(*) " + SQL_SLICE, params).fetchall()[0][0])
    rows = con.execute(SQL_SLICE_PAGE, {**params, "limit": int(limit), "offset": int(offset)}).df()
    return total, rows


def mapped_comment_votes(con: duckdb.DuckDBPyConnection, ids: list[str]) -> pd.DataFrame:
    """The map's ``comment_group_votes`` rows of ``ids`` (:data:`COMMENT_VOTE_COLUMNS`), empty without votes."""
    if not ids or not attached_table_exists(con, "m", "comment_group_votes"):
        return pd.DataFrame(columns=COMMENT_VOTE_COLUMNS)
    return con.execute(
        "SELECT contribution_id, vote_group, n_agree, n_disagree, n_pass, n_seen FROM m.comment_group_votes "
        "WHERE list_contains($ids, contribution_id) ORDER BY vote_group",
        {"ids": ids},
    ).df()


def mapped_vote_groups(con: duckdb.DuckDBPyConnection) -> list[int]:
    """The vote groups of the attached map's ``vote_groups`` table, in order (check it exists first)."""
    return [int(g) for (g,) in con.execute("SELECT DISTINCT vote_group FROM m.vote_groups ORDER BY 1").fetchall()]


def group_vote_rates(con: duckdb.DuckDBPyConnection, *, debate_id: str, contribution_ids: list[str]) -> pd.DataFrame:
    """Per vote group that voted on ``contribution_ids`` (last vote per voter and contribution): vote_group,
    n_voters, n_votes and the agree, disagree and pass shares of its votes."""
    return con.execute(SQL_VOTE_RATES, {"debate": debate_id, "ids": [str(i) for i in contribution_ids]}).df()


def cluster_member_ids(ws: Workspace, *, mapping_run: str, cluster: int) -> list[str]:
    """The contribution ids the mapping run placed in ``cluster``, sorted."""
    with corpus_with_runs(ws, {"m": mapping_run}) as con:
        rows = con.execute(
            "SELECT contribution_id FROM m.assignments WHERE cluster = ? ORDER BY contribution_id", [int(cluster)]
        ).fetchall()
    return [r[0] for r in rows]


def attribute_breakdown(ws: Workspace, *, debate_id: str, contribution_ids: list[str], by: str) -> pd.DataFrame:
    """``contribution_ids`` counted by ``by`` (country or language; the debate's when a contribution has none):
    value, n and n_authors, most first."""
    if by not in ("country", "language"):
        raise ValueError(f"breakdown by country or language, not {by!r}")
    with corpus_with_runs(ws, {}) as con:
        return con.execute(
            SQL_SLICE_BREAKDOWN.format(column=by), {"debate": debate_id, "ids": [str(i) for i in contribution_ids]}
        ).df()
