"""What one summary carries: coverage per cluster, which unit links to which contribution, where its units sit on
the map, and its sentences with the topics they reach."""

from __future__ import annotations

import pandas as pd

from dembias.read.queries.connections import corpus_with_runs, readable
from dembias.workspace.folder import Workspace

SQL_CLUSTER_COVERAGE = """
SELECT cc.cluster, cl.label, cl.keywords, cc.size, cc.p_s, cc.p_t, cc.ratio, cc.covered, cc.is_minority
FROM p.cluster_coverage cc
LEFT JOIN m.clusters cl ON cl.cluster = cc.cluster
WHERE cc.output_id = ?
ORDER BY cc.size DESC
"""


@readable
def cluster_coverage(ws: Workspace, *, pluralism_run: str, mapping_run: str, output_id: str) -> pd.DataFrame:
    """Per cluster: size, share in the debate (p_s) and in the summary (p_t), ratio, covered, minority."""
    with corpus_with_runs(ws, {"p": pluralism_run, "m": mapping_run}) as con:
        return con.execute(SQL_CLUSTER_COVERAGE, [output_id]).df()


SQL_UNIT_LINKS = """
SELECT l.unit_index, u.kind, u.section, u.text AS unit_text, l.contribution_id, a.cluster, l.method, l.score,
       count(*) OVER () AS n_total
FROM p.links l
JOIN output_units u ON u.output_id = l.output_id AND u.unit_index = l.unit_index
LEFT JOIN m.assignments a ON a.contribution_id = l.contribution_id
WHERE l.output_id = $output
  AND ($clusters IS NULL OR list_contains($clusters, a.cluster))
  AND ($contributions IS NULL OR list_contains($contributions, l.contribution_id))
ORDER BY l.unit_index, a.cluster, l.contribution_id
LIMIT $limit
"""


@readable
def unit_links(
    ws: Workspace,
    *,
    pluralism_run: str,
    mapping_run: str,
    output_id: str,
    clusters: list[int] | None = None,
    contribution_ids: list[str] | None = None,
    limit: int | None = None,
) -> tuple[pd.DataFrame, int]:
    """Which unit links to which contribution and cluster, by which method and with what score.

    Filtered (``clusters``, ``contribution_ids``) and capped (``limit`` rows) in DuckDB, so a summary
    that links to most of a million-contribution debate never reaches the page whole. Returns the rows
    and how many matched before the cap.
    """
    params = {
        "output": output_id,
        "clusters": [int(c) for c in clusters] if clusters else None,
        "contributions": [str(c) for c in contribution_ids] if contribution_ids is not None else None,
        "limit": limit if limit is not None else 2**62,
    }
    with corpus_with_runs(ws, {"p": pluralism_run, "m": mapping_run}) as con:
        frame = con.execute(SQL_UNIT_LINKS, params).df()
    total = int(frame["n_total"].iloc[0]) if len(frame) else 0
    return frame.drop(columns="n_total"), total


SQL_UNIT_POSITIONS = """
SELECT l.unit_index, any_value(u.text) AS text, avg(a.x) AS x, avg(a.y) AS y, count(*) AS n_links
FROM p.links l
JOIN m.assignments a ON a.contribution_id = l.contribution_id
JOIN output_units u ON u.output_id = l.output_id AND u.unit_index = l.unit_index
WHERE l.output_id = ?
GROUP BY l.unit_index ORDER BY l.unit_index
"""


@readable
def unit_positions(ws: Workspace, *, pluralism_run: str, mapping_run: str, output_id: str) -> pd.DataFrame:
    """Each linked unit placed at the mean map position of the contributions it links to."""
    with corpus_with_runs(ws, {"p": pluralism_run, "m": mapping_run}) as con:
        return con.execute(SQL_UNIT_POSITIONS, [output_id]).df()


SQL_SUMMARY_SENTENCES = """
WITH carried AS (  -- the topics (clusters of the map) each unit's links reach, biggest first
    SELECT l.unit_index, coalesce(a.cluster, -1) AS cluster,
           CASE WHEN coalesce(a.cluster, -1) = -1 THEN 'no topic (unclustered)'
                ELSE coalesce(any_value(cl.label), 'topic ' || coalesce(a.cluster, -1)) END AS label,
           count(*) AS n
    FROM p.links l
    LEFT JOIN m.assignments a ON a.contribution_id = l.contribution_id
    LEFT JOIN m.clusters cl ON cl.cluster = a.cluster
    WHERE l.output_id = $output
    GROUP BY 1, 2
), topics AS (
    SELECT unit_index, list(cluster ORDER BY n DESC, cluster) AS topic_clusters,
           list(label ORDER BY n DESC, cluster) AS topic_labels
    FROM carried GROUP BY unit_index
), cited AS (
    SELECT unit_index, count(DISTINCT contribution_id) AS n_cited
    FROM citations WHERE output_id = $output GROUP BY unit_index
), supported AS (
    SELECT unit_index, count(DISTINCT contribution_id) AS n_supported
    FROM p.links WHERE output_id = $output AND method = 'citation' GROUP BY unit_index
)
SELECT u.unit_index, u.text, u.duplicate_of, u.content_free, u.reason, u.n_links, u.stance, u.vote_group,
       coalesce(c.n_cited, 0) AS n_cited, coalesce(s.n_supported, 0) AS n_supported,
       coalesce(t.topic_clusters, []) AS topic_clusters, coalesce(t.topic_labels, []) AS topic_labels
FROM p.units u
LEFT JOIN topics t USING (unit_index)
LEFT JOIN cited c USING (unit_index)
LEFT JOIN supported s USING (unit_index)
WHERE u.output_id = $output
ORDER BY u.unit_index
"""


@readable
def summary_sentences(ws: Workspace, *, pluralism_run: str, mapping_run: str, output_id: str) -> pd.DataFrame:
    """The scored output's own text, one row per unit (sentence), with what each carries.

    Columns: ``unit_index``, ``text``, ``duplicate_of`` (-1 or the unit it repeats), ``content_free``,
    ``reason``, ``n_links``, ``stance`` and ``vote_group`` (the opinion group it speaks for), ``n_cited``
    and ``n_supported`` (its citations, and those that pass the support test), ``topic_clusters`` and
    ``topic_labels`` (the topics its links reach, most links first). Chips: :func:`dembias.read.verdict.sentence_chips`.
    """
    with corpus_with_runs(ws, {"p": pluralism_run, "m": mapping_run}) as con:
        return con.execute(SQL_SUMMARY_SENTENCES, {"output": output_id}).df()
