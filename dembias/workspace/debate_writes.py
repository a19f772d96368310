"""Storing and deleting a debate's rows, inside the caller's :func:`~dembias.workspace.corpus.corpus_writer`.

:func:`dembias.ingest.debate_storage.store_debate` orchestrates a debate's storage with these statements:
contributions and votes go through staging tables (made here, filled with
:func:`~dembias.workspace.corpus.insert_frame`), are checked there, and are then moved into the corpus
tables. Each staging table is dropped once its rows have moved; on an error the writer's copy is discarded
whole, staging tables included.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import duckdb

SQL_DELETE_DEBATE = (
    "DELETE FROM citations WHERE output_id IN (SELECT output_id FROM outputs WHERE debate_id = $1)",
    "DELETE FROM output_units WHERE output_id IN (SELECT output_id FROM outputs WHERE debate_id = $1)",
    "DELETE FROM outputs WHERE debate_id = $1",
    "DELETE FROM votes WHERE debate_id = $1",
    "DELETE FROM participants WHERE debate_id = $1",
    "DELETE FROM contributions WHERE debate_id = $1",
    "DELETE FROM debates WHERE debate_id = $1",
)
SQL_CREATE_CONTRIBUTIONS_STAGING = (
    "CREATE TABLE {staging} AS SELECT * EXCLUDE (debate_id), 0::BIGINT AS _row FROM contributions LIMIT 0"
)
SQL_FIRST_DUPLICATE_CONTRIBUTION = (
    "SELECT contribution_id, _row FROM {staging} QUALIFY row_number() OVER "
    "(PARTITION BY contribution_id ORDER BY _row) = 2 ORDER BY _row LIMIT 1"
)
SQL_INSERT_STAGED_CONTRIBUTIONS = "INSERT INTO contributions SELECT ?, * EXCLUDE (_row) FROM {staging}"
SQL_CREATE_VOTES_STAGING = """
CREATE TABLE {staging} (
    contribution_id VARCHAR, participant_pid VARCHAR, vote TINYINT, voted_at TIMESTAMP, row_number BIGINT
)"""
SQL_COUNT_VOTES_TO_MISSING_CONTRIBUTIONS = (
    "SELECT count(*) FILTER (WHERE contribution_id IN (SELECT unnest(?::VARCHAR[]))), "
    "count(*) FILTER (WHERE contribution_id NOT IN (SELECT unnest(?::VARCHAR[]))) "
    "FROM {staging} WHERE contribution_id NOT IN "
    "(SELECT contribution_id FROM contributions WHERE debate_id = ?)"
)
SQL_DELETE_VOTES_TO_MISSING_CONTRIBUTIONS = """
DELETE FROM {staging} WHERE contribution_id NOT IN (SELECT contribution_id FROM contributions WHERE debate_id = ?)"""
SQL_VOTES_TO_MISSING_CONTRIBUTIONS = """
SELECT s.row_number, s.contribution_id FROM {staging} s
ANTI JOIN (SELECT contribution_id FROM contributions WHERE debate_id = ?) c USING (contribution_id)
ORDER BY s.row_number LIMIT 1"""
SQL_INSERT_LAST_VOTES = """
INSERT INTO votes (debate_id, contribution_id, participant_pid, vote, voted_at)
SELECT ?, contribution_id, participant_pid, vote, voted_at FROM {staging}
QUALIFY row_number() OVER (
    PARTITION BY contribution_id, participant_pid ORDER BY voted_at DESC NULLS LAST, row_number DESC
) = 1"""
SQL_FILL_PASS_COUNTS = """
UPDATE contributions SET n_pass = v.n_pass
FROM (SELECT contribution_id, count(*) FILTER (WHERE vote = 0) AS n_pass
      FROM votes WHERE debate_id = $1 GROUP BY contribution_id) v
WHERE contributions.debate_id = $1 AND contributions.contribution_id = v.contribution_id
  AND contributions.n_pass IS NULL"""
SQL_ADD_VOTERS_AS_PARTICIPANTS = """
INSERT INTO participants (debate_id, participant_pid, published_group)
SELECT DISTINCT $1, participant_pid, NULL FROM votes WHERE debate_id = $1
  AND participant_pid NOT IN (SELECT participant_pid FROM participants WHERE debate_id = $1)"""


def delete_debate(con: duckdb.DuckDBPyConnection, debate_id: str) -> None:
    """Remove a debate and everything that hangs on it (inside the caller's transaction)."""
    for sql in SQL_DELETE_DEBATE:
        con.execute(sql, [debate_id])


# --------------------------------------------------------------------------------------------------
# contributions


def create_contributions_staging(con: duckdb.DuckDBPyConnection) -> str:
    """A new empty staging table with the columns of ``contributions`` (less ``debate_id``) and ``_row``;
    its name."""
    staging = f"contrib_staging_{uuid.uuid4().hex[:8]}"
    con.execute(SQL_CREATE_CONTRIBUTIONS_STAGING.format(staging=staging))
    return staging


def first_duplicate_contribution(con: duckdb.DuckDBPyConnection, staging: str) -> tuple[str, int] | None:
    """The first staged contribution id that repeats, with the source row of its repeat; None without one."""
    return con.execute(SQL_FIRST_DUPLICATE_CONTRIBUTION.format(staging=staging)).fetchone()


def move_staged_contributions(con: duckdb.DuckDBPyConnection, staging: str, debate_id: str) -> None:
    """Insert the staged contributions into ``contributions`` under ``debate_id``, then drop the staging table."""
    con.execute(SQL_INSERT_STAGED_CONTRIBUTIONS.format(staging=staging), [debate_id])
    con.execute(f"DROP TABLE {staging}")


# --------------------------------------------------------------------------------------------------
# votes


def create_votes_staging(con: duckdb.DuckDBPyConnection) -> str:
    """A new empty staging table for raw vote rows (with their source ``row_number``); its name."""
    staging = f"votes_staging_{uuid.uuid4().hex[:8]}"
    con.execute(SQL_CREATE_VOTES_STAGING.format(staging=staging))
    return staging


def count_staged_votes_to_missing_contributions(
    con: duckdb.DuckDBPyConnection, staging: str, debate_id: str, skipped_ids: Sequence[str]
) -> tuple[int, int]:
    """Staged votes on contributions the debate lacks: (on one of ``skipped_ids``, on any other id)."""
    on_skipped, on_unknown = con.execute(
        SQL_COUNT_VOTES_TO_MISSING_CONTRIBUTIONS.format(staging=staging),
        [list(skipped_ids), list(skipped_ids), debate_id],
    ).fetchone()
    return on_skipped, on_unknown


def delete_staged_votes_to_missing_contributions(con: duckdb.DuckDBPyConnection, staging: str, debate_id: str) -> None:
    """Delete the staged votes on contributions the debate does not have."""
    con.execute(SQL_DELETE_VOTES_TO_MISSING_CONTRIBUTIONS.format(staging=staging), [debate_id])


def first_staged_vote_to_missing_contribution(
    con: duckdb.DuckDBPyConnection, staging: str, debate_id: str
) -> tuple[int, str] | None:
    """(source row, contribution id) of the first staged vote on a contribution the debate lacks; None if none."""
    return con.execute(SQL_VOTES_TO_MISSING_CONTRIBUTIONS.format(staging=staging), [debate_id]).fetchone()


def move_last_staged_votes(con: duckdb.DuckDBPyConnection, staging: str, debate_id: str) -> None:
    """Insert each voter's last staged vote into ``votes`` and drop the staging table; then fill the
    contributions' missing pass counts from the votes and add voters that are not participants yet."""
    con.execute(SQL_INSERT_LAST_VOTES.format(staging=staging), [debate_id])
    con.execute(f"DROP TABLE {staging}")
    con.execute(SQL_FILL_PASS_COUNTS, [debate_id])
    con.execute(SQL_ADD_VOTERS_AS_PARTICIPANTS, [debate_id])
