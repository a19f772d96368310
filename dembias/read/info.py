"""What a workspace holds: debates with their counts, and landed runs (``dembias info``)."""

from __future__ import annotations

from typing import Any

import duckdb

from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import list_runs
from dembias.workspace.staleness import refresh_hint, run_staleness

SQL_DEBATE_COUNTS = """
SELECT d.debate_id, d.title, d.language, d.country, d.platform, d.source_url, d.licence,
       coalesce(c.n_contributions, 0) AS n_contributions,
       coalesce(c.n_accepted, 0) AS n_accepted,
       coalesce(c.n_rejected, 0) AS n_rejected,
       coalesce(p.n_participants, 0) AS n_participants,
       coalesce(p.n_groups, 0) AS n_groups,
       coalesce(v.n_votes, 0) AS n_votes,
       coalesce(o.n_outputs, 0) AS n_outputs
FROM debates d
LEFT JOIN (SELECT debate_id, count(*) AS n_contributions,
                  count(*) FILTER (WHERE moderation = 1) AS n_accepted,
                  count(*) FILTER (WHERE is_rejected) AS n_rejected
           FROM contributions GROUP BY debate_id) c USING (debate_id)
LEFT JOIN (SELECT debate_id, count(*) AS n_participants, count(DISTINCT published_group) AS n_groups
           FROM participants GROUP BY debate_id) p USING (debate_id)
LEFT JOIN (SELECT debate_id, count(*) AS n_votes FROM votes GROUP BY debate_id) v USING (debate_id)
LEFT JOIN (SELECT debate_id, count(*) AS n_outputs FROM outputs GROUP BY debate_id) o USING (debate_id)
ORDER BY d.debate_id
"""


def debate_counts(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """One dictionary per debate with its counts (contributions, accepted, participants, votes, ...)."""
    cursor = con.execute(SQL_DEBATE_COUNTS)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def workspace_info(ws: Workspace) -> dict[str, Any]:
    """The object ``dembias info --json`` prints: ``workspace``, ``debates`` and ``runs``.

    Each run says whether it is ``stale`` (its debate changed since it read it: True, False, or None
    when unknown, see :func:`dembias.workspace.staleness.run_staleness`) and, when stale, the ``refresh`` command.
    """
    con = open_corpus(ws)
    try:
        debates = debate_counts(con)
    finally:
        con.close()
    every = list_runs(ws)
    staleness = run_staleness(ws, every)
    runs = [
        {
            "run_id": r.run_id,
            "stage": r.stage,
            "debate_id": r.debate_id,
            "created_at": r.created_at,
            "stale": staleness[r.run_id],
            **({"refresh": refresh_hint(r)} if staleness[r.run_id] else {}),
            "manifest": r.manifest,
        }
        for r in every
    ]
    return {"workspace": str(ws.root), "debates": debates, "runs": runs}
