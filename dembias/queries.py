"""Read-only queries behind the dashboard and notebooks: small frames, never whole embedding tables.

Every function opens the files it needs read-only and closes them, so any number of readers can run
beside a writer (the corpus is replaced by rename, runs are immutable). Callers cache the results, keyed
by :func:`workspace_version`.
"""

from __future__ import annotations

import pandas as pd

from dembias.info import debate_counts
from dembias.store import Workspace, list_runs, open_corpus


def workspace_version(ws: Workspace) -> tuple[float, int]:
    """Changes whenever the corpus is replaced or a run lands: a cache key for readers."""
    corpus_mtime = ws.corpus_path.stat().st_mtime if ws.corpus_path.exists() else 0.0
    return corpus_mtime, len(list_runs(ws))


def debates_table(ws: Workspace) -> pd.DataFrame:
    """Debates with their counts, one row each."""
    con = open_corpus(ws)
    try:
        return pd.DataFrame(debate_counts(con))
    finally:
        con.close()


def outputs_table(ws: Workspace, debate_id: str) -> pd.DataFrame:
    """The outputs of a debate (id, task, model, prompt id, number of units and of cited contributions)."""
    con = open_corpus(ws)
    try:
        return con.execute(
            """
            SELECT o.output_id, o.task, o.model, o.prompt_id, o.target_language, o.created_at,
                   (SELECT count(*) FROM output_units u WHERE u.output_id = o.output_id) AS n_units,
                   (SELECT count(DISTINCT contribution_id) FROM citations c WHERE c.output_id = o.output_id)
                       AS n_cited
            FROM outputs o WHERE o.debate_id = ? ORDER BY o.task, o.model, o.output_id
            """,
            [debate_id],
        ).df()
    finally:
        con.close()
