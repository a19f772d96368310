"""What the fidelity views show: similarity and flags per model, and the rewrites most in need of review."""

from __future__ import annotations

import pandas as pd

from dembias.read.queries.connections import corpus_with_runs, readable
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import open_run


@readable
def fidelity_by_model(ws: Workspace, fidelity_run: str) -> pd.DataFrame:
    """Per model: rewrites audited, mean similarity, share with at least one lexical flag."""
    con = open_run(ws, fidelity_run)
    try:
        return con.execute(
            "SELECT model, count(*) AS n_pairs, avg(similarity) AS mean_similarity, "
            "avg(CASE WHEN n_flags > 0 THEN 1 ELSE 0 END) AS share_flagged FROM pairs GROUP BY model ORDER BY model"
        ).df()
    finally:
        con.close()


SQL_REVIEW_LIST = """
SELECT p.output_id, p.model, p.task, p.language_pair, p.country, p.cluster, p.similarity,
       p.similarity_percentile, p.entailment_min, p.stance_flip, p.review_score, p.flag_kinds,
       o.text AS output_text,
       (SELECT string_agg(c.text, ' / ') FROM contributions c
        WHERE c.debate_id = o.debate_id AND list_contains(o.source_ids, c.contribution_id)) AS source_text
FROM f.pairs p JOIN outputs o USING (output_id)
ORDER BY p.review_score DESC NULLS LAST, p.similarity ASC
LIMIT ?
"""


@readable
def review_list(ws: Workspace, *, fidelity_run: str, limit: int = 50) -> pd.DataFrame:
    """The rewrites most in need of review (highest review score first), with source and output texts."""
    with corpus_with_runs(ws, {"f": fidelity_run}) as con:
        return con.execute(SQL_REVIEW_LIST, [limit]).df()
