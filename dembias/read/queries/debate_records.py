"""Debates, outputs and contribution texts from the corpus, and the (country, language) cells that decide
which attributes a quote may show (the one small-cell rule, issue 17)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd

from dembias.read.queries.connections import readable
from dembias.small_cells import public_attributes
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace

SQL_DEBATES_WITH_COUNTS = """
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


def debates_with_counts(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """One dictionary per debate of the open corpus ``con`` with its counts (contributions, accepted,
    participants, votes, ...), in id order."""
    cursor = con.execute(SQL_DEBATES_WITH_COUNTS)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@readable
def debates_table(ws: Workspace) -> pd.DataFrame:
    """Debates with their counts, one row each."""
    con = open_corpus(ws)
    try:
        return pd.DataFrame(debates_with_counts(con))
    finally:
        con.close()


@readable
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


@readable
def output_variants(ws: Workspace, output_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Which setting made each output: debate, task, model, prompt id, target language, sample index and seed.

    ``sample`` and ``seed`` come from the output's ``params`` (``dembias generate --samples``); an output
    without them (imported, or made before samples existed) is sample 0 with no seed. Every output, or
    only ``output_ids``.
    """
    con = open_corpus(ws)
    try:
        frame = con.execute(
            """
            SELECT output_id, debate_id, task, model, prompt_id, target_language,
                   coalesce(TRY_CAST(json_extract(params, '$.sample') AS INTEGER), 0) AS sample,
                   TRY_CAST(json_extract(params, '$.seed') AS BIGINT) AS seed
            FROM outputs WHERE ? IS NULL OR list_contains(?, output_id) ORDER BY output_id
            """,
            [None if output_ids is None else list(output_ids)] * 2,
        ).df()
    finally:
        con.close()
    return frame


@readable
def contribution_texts(ws: Workspace, *, debate_id: str, contribution_ids: list[str]) -> pd.DataFrame:
    """Texts (and language, country; the debate's when the contribution has none) of given contributions.

    Country and language follow the one quote rule (:func:`dembias.small_cells.public_attributes`).
    """
    con = open_corpus(ws)
    try:
        texts = select_contributions(
            con,
            debate_id=debate_id,
            include_rejected=True,
            ids=[str(i) for i in contribution_ids],
            columns=("contribution_id", "language", "country", "text"),
        )
        return public_attributes(texts, attribute_cells_on(con, debate_id))
    finally:
        con.close()


SQL_ATTRIBUTE_CELLS = """
SELECT coalesce(c.country, d.country, 'unknown') AS country, coalesce(c.language, d.language, 'unknown') AS language,
       count(*) AS n, count(DISTINCT c.author_pid) AS n_authors
FROM contributions c JOIN debates d USING (debate_id)
WHERE c.debate_id = $debate AND NOT coalesce(c.is_rejected, false)
GROUP BY ALL
"""


def attribute_cells_on(con: duckdb.DuckDBPyConnection, debate_id: str) -> pd.DataFrame:
    """The debate's (country, language) cells on an open corpus connection (see :func:`attribute_cells`)."""
    return con.execute(SQL_ATTRIBUTE_CELLS, {"debate": debate_id}).df()


@readable
def attribute_cells(ws: Workspace, debate_id: str) -> pd.DataFrame:
    """The debate's (country, language) pairs with their contributions ``n`` and distinct authors ``n_authors``.

    Rejected contributions are left out. Input of :func:`dembias.small_cells.public_attributes`.
    """
    con = open_corpus(ws)
    try:
        return attribute_cells_on(con, debate_id)
    finally:
        con.close()
