"""What a workspace holds: debates with their counts, and landed runs (``dembias info``)."""

from __future__ import annotations

from typing import Any

from dembias.read.queries.debate_records import debates_with_counts
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import list_runs
from dembias.workspace.staleness import refresh_hint, run_staleness


def workspace_info(ws: Workspace) -> dict[str, Any]:
    """The object ``dembias info --json`` prints: ``workspace``, ``debates`` and ``runs``.

    Each run says whether it is ``stale`` (its debate changed since it read it: True, False, or None
    when unknown, see :func:`dembias.workspace.staleness.run_staleness`) and, when stale, the ``refresh`` command.
    """
    con = open_corpus(ws)
    try:
        debates = debates_with_counts(con)
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
