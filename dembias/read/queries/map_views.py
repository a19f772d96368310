"""What the opinion map shows: its points (a deterministic sample), selected contributions in detail, and the
country or language break-down of clusters (small cells suppressed)."""

from __future__ import annotations

import pandas as pd

from dembias.read.queries.connections import attached_table_exists, corpus_with_runs, readable
from dembias.read.queries.debate_records import attribute_cells_on
from dembias.small_cells import MIN_CELL, public_attributes, small_cells
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import open_run

SQL_MAP_POINTS = """
WITH owner AS (  -- the vote group that agrees most with each comment
    SELECT contribution_id, arg_max(vote_group, agree_rate) AS vote_group
    FROM {vote_table} GROUP BY contribution_id
)
SELECT a.contribution_id, a.x, a.y, a.cluster, cl.label, c.text,
       coalesce(c.language, d.language, 'unknown') AS language, coalesce(c.country, d.country, 'unknown') AS country,
       owner.vote_group
FROM m.assignments a
JOIN contributions c ON c.debate_id = $debate AND c.contribution_id = a.contribution_id
JOIN debates d ON d.debate_id = $debate
LEFT JOIN m.clusters cl ON cl.cluster = a.cluster
LEFT JOIN owner ON owner.contribution_id = a.contribution_id
ORDER BY hash(a.contribution_id || $seed)
LIMIT $cap
"""


@readable
def map_points(ws: Workspace, *, debate_id: str, mapping_run: str, cap: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Points of the opinion map (a deterministic sample of at most ``cap``), with text and attributes."""
    with corpus_with_runs(ws, {"m": mapping_run}) as con:
        has_votes = attached_table_exists(con, "m", "comment_group_votes")
        vote_table = (
            "m.comment_group_votes"
            if has_votes
            else (
                "(SELECT NULL::VARCHAR AS contribution_id, NULL::INTEGER AS vote_group, NULL::DOUBLE AS agree_rate WHERE false)"
            )
        )
        points = con.execute(
            SQL_MAP_POINTS.format(vote_table=vote_table), {"debate": debate_id, "seed": str(seed), "cap": cap}
        ).df()
        return public_attributes(points, attribute_cells_on(con, debate_id))


@readable
def n_mapped(ws: Workspace, mapping_run: str) -> int:
    """Number of contributions in a mapping run."""
    con = open_run(ws, mapping_run)
    try:
        return int(con.execute("SELECT count(*) FROM assignments").fetchall()[0][0])
    finally:
        con.close()


@readable
def contributions_detail(
    ws: Workspace, *, debate_id: str, mapping_run: str, contribution_ids: list[str]
) -> pd.DataFrame:
    """Selected contributions with cluster, language, country and their agree rate in each vote group."""
    if not contribution_ids:
        return pd.DataFrame()
    with corpus_with_runs(ws, {"m": mapping_run}) as con:
        frame = con.execute(
            """
            SELECT c.contribution_id, a.cluster, cl.label AS cluster_label,
                   coalesce(c.language, d.language, 'unknown') AS language,
                   coalesce(c.country, d.country, 'unknown') AS country,
                   c.n_agree, c.n_disagree, c.n_pass, c.text
            FROM contributions c
            JOIN debates d ON d.debate_id = c.debate_id
            JOIN m.assignments a ON a.contribution_id = c.contribution_id
            LEFT JOIN m.clusters cl ON cl.cluster = a.cluster
            WHERE c.debate_id = $debate AND list_contains($ids, c.contribution_id)
            ORDER BY a.cluster, c.contribution_id
            """,
            {"debate": debate_id, "ids": list(contribution_ids)},
        ).df()
        frame = public_attributes(frame, attribute_cells_on(con, debate_id))
        has_votes = attached_table_exists(con, "m", "comment_group_votes")
        if has_votes:
            profile = con.execute(
                "SELECT contribution_id, vote_group, agree_rate FROM m.comment_group_votes "
                "WHERE list_contains($ids, contribution_id)",
                {"ids": list(contribution_ids)},
            ).df()
            if not profile.empty:
                wide = profile.pivot(index="contribution_id", columns="vote_group", values="agree_rate")
                wide.columns = [f"agree in group {int(g)}" for g in wide.columns]
                frame = frame.merge(wide, left_on="contribution_id", right_index=True, how="left")
    return frame


SQL_CLUSTER_BREAKDOWN = """
SELECT a.cluster, coalesce(c.{column}, d.{column}, 'unknown') AS value, count(*) AS n,
       count(DISTINCT c.author_pid) AS n_authors
FROM m.assignments a
JOIN contributions c ON c.debate_id = $debate AND c.contribution_id = a.contribution_id
JOIN debates d ON d.debate_id = $debate
WHERE list_contains($clusters, a.cluster)
GROUP BY ALL ORDER BY a.cluster, n DESC
"""


@readable
def cluster_breakdown(
    ws: Workspace, *, debate_id: str, mapping_run: str, clusters: list[int], by: str, min_cell: int = MIN_CELL
) -> pd.DataFrame:
    """Contributions of each cluster by country or language; cells under ``min_cell`` are suppressed."""
    if by not in ("country", "language"):
        raise ValueError(f"breakdown by country or language, not {by!r}")
    with corpus_with_runs(ws, {"m": mapping_run}) as con:
        frame = con.execute(
            SQL_CLUSTER_BREAKDOWN.format(column=by), {"debate": debate_id, "clusters": [int(c) for c in clusters]}
        ).df()
    small = small_cells(frame["n"], frame["n_authors"], min_cell=min_cell)  # authors when known
    frame["n"] = frame["n"].astype("Int64").mask(small)
    frame["suppressed"] = small
    return frame.drop(columns=["n_authors"])
