"""The rewrites of a workspace (outputs of task ``reformulation`` or ``translation``) and the sources they cite.

The fidelity stage scores one debate per call (:func:`dembias.fidelity.run`); :func:`debates_with_rewrites`
is the list a caller loops over, :func:`rewrites_and_sources` what the stage reads.
"""

from __future__ import annotations

import pandas as pd

from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace

#: The tasks whose outputs are rewrites of contributions (scored by the fidelity stage).
REWRITE_TASKS = ("reformulation", "translation")

SQL_REWRITE_OUTPUTS = """
SELECT output_id, debate_id, task, model, target_language, source_ids, text AS output_text
FROM outputs
WHERE task IN ('reformulation', 'translation') AND (CAST(? AS VARCHAR) IS NULL OR debate_id = ?)
ORDER BY debate_id, output_id
"""
SQL_DEBATES_WITH_REWRITES = """
SELECT DISTINCT debate_id FROM outputs WHERE task IN ('reformulation', 'translation') ORDER BY debate_id
"""
#: What a rewrite's sources carry (rejected ones included: a rewrite of one is still scored).
SOURCE_COLUMNS = (
    "contribution_id", "text", "language", "country", "author_pid", "is_rejected", "published_group", "metadata",
)  # fmt: skip


def debates_with_rewrites(ws: Workspace) -> list[str]:
    """The ids of the debates that have at least one reformulation or translation output, sorted."""
    con = open_corpus(ws)
    try:
        return [str(row[0]) for row in con.execute(SQL_DEBATES_WITH_REWRITES).fetchall()]
    finally:
        con.close()


def rewrites_and_sources(ws: Workspace, debate_id: str | None) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """The rewrite outputs of ``debate_id`` (None: of every debate), and per debate the contributions they
    cite (indexed by id, read once per debate, rejected ones included)."""
    con = open_corpus(ws)
    try:
        outputs = con.execute(SQL_REWRITE_OUTPUTS, [debate_id, debate_id]).df()
        sources = {
            d: select_contributions(
                con,
                debate_id=d,
                include_rejected=True,
                ids=sorted({str(s) for ids in part["source_ids"] for s in ids}),
                columns=SOURCE_COLUMNS,
            ).set_index("contribution_id")
            for d, part in outputs.groupby("debate_id", sort=False)
        }
    finally:
        con.close()
    return outputs, sources
