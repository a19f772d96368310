"""The counts of one debate (:mod:`dembias.read.counts` defines each): from the corpus, and from the runs attached
by :func:`.connections.corpus_with_runs` as ``m`` (its opinion map) and ``p`` (its scoring run)."""

from __future__ import annotations

from typing import Any

import duckdb

from dembias.read.queries.connections import attached_table_exists

SQL_CORPUS_COUNTS = """
WITH c AS (
    SELECT c.*, coalesce(c.country, d.country) AS country_or_debate,
           coalesce(c.language, d.language) AS language_or_debate
    FROM contributions c JOIN debates d USING (debate_id) WHERE c.debate_id = $debate
)
SELECT
    (SELECT count(*) FROM c) AS contributions,
    (SELECT count(*) FROM c WHERE is_rejected) AS rejected,
    (SELECT count(*) FROM c WHERE moderation = 1 AND NOT is_rejected) AS accepted,
    (SELECT count(*) FROM c WHERE moderation <> 1 AND NOT is_rejected) AS unmoderated,
    (SELECT count(*) FROM c WHERE NOT is_rejected) AS not_rejected,
    (SELECT count(*) FROM participants WHERE debate_id = $debate) AS participants,
    (SELECT count(DISTINCT participant_pid) FROM votes WHERE debate_id = $debate) AS voters,
    (SELECT count(*) FROM votes WHERE debate_id = $debate) AS votes,
    (SELECT count(DISTINCT published_group) FROM participants WHERE debate_id = $debate) AS polis_groups,
    (SELECT count(DISTINCT country_or_debate) FROM c WHERE NOT is_rejected) AS countries,
    (SELECT count(DISTINCT language_or_debate) FROM c WHERE NOT is_rejected) AS languages
"""


def corpus_counts(con: duckdb.DuckDBPyConnection, debate_id: str) -> dict[str, Any]:
    """The debate's counts in the corpus: contributions, rejected, accepted, unmoderated, not_rejected,
    participants, voters, votes, polis_groups, countries, languages (zeros for an unknown debate)."""
    cursor = con.execute(SQL_CORPUS_COUNTS, {"debate": debate_id})
    return dict(zip([d[0] for d in cursor.description], cursor.fetchall()[0], strict=True))


def run_counts(con: duckdb.DuckDBPyConnection, *, mapping: bool, pluralism: bool) -> tuple[int | None, int | None]:
    """(mapped, vote groups) from the attached runs ``m`` (mapping) and ``p`` (pluralism), None when absent."""
    mapped = groups = None
    if mapping:
        mapped = int(con.execute("SELECT count(*) FROM m.assignments").fetchall()[0][0])
        if attached_table_exists(con, "m", "vote_groups"):
            groups = int(con.execute("SELECT count(DISTINCT vote_group) FROM m.vote_groups").fetchall()[0][0])
    if groups is None and pluralism and attached_table_exists(con, "p", "opinion_groups"):
        groups = int(con.execute("SELECT count(DISTINCT vote_group) FROM p.opinion_groups").fetchall()[0][0])
    return mapped, groups
