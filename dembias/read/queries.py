"""Read-only queries behind the dashboard and notebooks: small frames, never whole embedding tables.

Every function opens the files it needs read-only and closes them, so any number of readers can run
beside a writer (the corpus is replaced by rename, runs are immutable). Callers cache the results, keyed
by :func:`workspace_version`.
"""

from __future__ import annotations

import contextlib
import functools
import json
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ParamSpec, TypeVar

import duckdb
import pandas as pd

from dembias.errors import StoreError
from dembias.read.info import debate_counts
from dembias.small_cells import MIN_CELL, public_attributes, small_cells
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.store import (
    RunInfo,
    Workspace,
    corpus_reader,
    list_runs,
    open_corpus,
    open_run,
    quote_identifier,
)

P = ParamSpec("P")
R = TypeVar("R")


def _readable(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a DuckDB error met while reading (a truncated or damaged corpus or run: DuckDB reads blocks
    lazily, so it shows at query time, not at open) into a :class:`StoreError` with DuckDB's message."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StoreError(f"a workspace file cannot be read (truncated or corrupted): {first}") from exc

    return wrapper


def workspace_version(ws: Workspace) -> tuple[float, int]:
    """Changes whenever the corpus is replaced or a run lands: a cache key for readers."""
    corpus_mtime = ws.corpus_path.stat().st_mtime if ws.corpus_path.exists() else 0.0
    return corpus_mtime, len(list_runs(ws))


@_readable
def debates_table(ws: Workspace) -> pd.DataFrame:
    """Debates with their counts, one row each."""
    con = open_corpus(ws)
    try:
        return pd.DataFrame(debate_counts(con))
    finally:
        con.close()


@_readable
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


@contextlib.contextmanager
def corpus_with_runs(ws: Workspace, runs: dict[str, str | None]) -> Iterator[duckdb.DuckDBPyConnection]:
    """The corpus opened read-only with each run in ``runs`` (alias -> run id) attached read-only.

    The connection is this call's own database instance (:func:`dembias.workspace.store.corpus_reader`, pooled), so
    concurrent callers (several viewers of the dashboard) never see each other's attachments.
    """
    with corpus_reader(ws, runs) as con:
        yield con


def run_options(ws: Workspace, *, stage: str, debate_id: str) -> list[RunInfo]:
    """Landed runs of ``stage`` for a debate, newest first (for run pickers)."""
    return list(reversed(list_runs(ws, stage=stage, debate_id=debate_id)))


@_readable
def run_table(ws: Workspace, run_id: str, table: str) -> pd.DataFrame:
    """A small table of one run (clusters, diagnostics, scores ...); never the embeddings."""
    if table == "embeddings":
        raise ValueError("embeddings are never loaded into a page")
    con = open_run(ws, run_id)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if table not in tables:
            return pd.DataFrame()
        return con.execute(f"SELECT * FROM {quote_identifier(table)}").df()
    finally:
        con.close()


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


@_readable
def map_points(ws: Workspace, *, debate_id: str, mapping_run: str, cap: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Points of the opinion map (a deterministic sample of at most ``cap``), with text and attributes."""
    with corpus_with_runs(ws, {"m": mapping_run}) as con:
        has_votes = bool(
            con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'm' AND table_name = 'comment_group_votes'"
            ).fetchall()[0][0]
        )
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


@_readable
def n_mapped(ws: Workspace, mapping_run: str) -> int:
    """Number of contributions in a mapping run."""
    con = open_run(ws, mapping_run)
    try:
        return int(con.execute("SELECT count(*) FROM assignments").fetchall()[0][0])
    finally:
        con.close()


@_readable
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
        has_votes = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = 'm' AND table_name = 'comment_group_votes'"
        ).fetchall()[0][0]
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


def run_for(ws: Workspace, *, stage: str, debate_id: str, using: str | None = None) -> RunInfo | None:
    """The newest run of ``stage`` for a debate, preferring one whose inputs include run ``using``."""
    options = run_options(ws, stage=stage, debate_id=debate_id)
    if using:
        for info in options:
            if using in info.manifest.get("inputs", []):
                return info
    return options[0] if options else None


@_readable
def scorecard(ws: Workspace, pluralism_run: str) -> pd.DataFrame:
    """One row per scored output: model, quality, citations and every headline metric (value, low, high)."""
    con = open_run(ws, pluralism_run)
    try:
        scores = con.execute(
            "SELECT s.output_id, o.model, s.metric, s.value, s.low, s.high "
            "FROM scores s LEFT JOIN outputs o USING (output_id)"
        ).df()
        outputs = con.execute(SQL_OUTPUT_QUALITY).df()
    finally:
        con.close()
    if scores.empty:
        return scores
    wide = scores.pivot_table(index=["output_id", "model"], columns="metric", values=["value", "low", "high"])
    wide.columns = [metric if stat == "value" else f"{metric}_{stat}" for stat, metric in wide.columns]
    wide = wide.reset_index()
    extra = [c for c in outputs.columns if c == "output_id" or c not in wide.columns]
    return wide.merge(outputs[extra], on="output_id", how="left")


SQL_OUTPUT_QUALITY = """
SELECT output_id, n_units, n_distinct_units, n_content_free_units, n_citations, n_supported_citations,
       citation_precision, quality_flags, quality_notes
FROM outputs
"""


@_readable
def output_quality(ws: Workspace, pluralism_run: str, output_id: str) -> dict[str, Any]:
    """The quality flags (list), their sentences and the unit counts of one scored output ({} when unknown)."""
    con = open_run(ws, pluralism_run)
    try:
        frame = con.execute(SQL_OUTPUT_QUALITY + " WHERE output_id = ?", [output_id]).df()
    finally:
        con.close()
    if frame.empty:
        return {}
    row = frame.iloc[0].to_dict()
    row["quality_flags"] = json.loads(row["quality_flags"] or "[]")
    row["quality_notes"] = json.loads(row["quality_notes"] or "[]")
    return row


@_readable
def validation_checks(ws: Workspace, validation_run: str) -> pd.DataFrame:
    """The checks of a validation run (``dembias validate``): control, check, expected, found, passed."""
    con = open_run(ws, validation_run)
    try:
        return con.execute('SELECT control, "check", expected, found, passed FROM checks').df()
    finally:
        con.close()


@_readable
def unfair_by_model(ws: Workspace, pluralism_runs: Sequence[str]) -> pd.DataFrame:
    """BUR per model over its summaries in ``pluralism_runs`` (e.g. each debate's latest run).

    BUR (Zhang et al. 2024) is the share of a model's summaries that are unfair to some topic (or opinion
    group); ``n`` says how many summaries it is over.
    """
    from dembias.pluralism.unfairness import binary_unfair_rate

    frames = []
    for run_id in pluralism_runs:
        con = open_run(ws, run_id)
        try:
            frames.append(
                con.execute(
                    "SELECT o.model, s.metric, s.value FROM scores s JOIN outputs o USING (output_id) "
                    "WHERE s.metric IN ('unfair_topics', 'unfair_opinion_groups')"
                ).df()
            )
        finally:
            con.close()
    if not frames:
        return pd.DataFrame(columns=["model", "bur_topics", "n_topics", "bur_opinion_groups", "n_opinion_groups"])
    scores = pd.concat(frames, ignore_index=True)
    rows = []
    for model, group in scores.groupby("model", sort=True):
        topics = binary_unfair_rate(group.loc[group["metric"] == "unfair_topics", "value"].tolist())
        opinion = binary_unfair_rate(group.loc[group["metric"] == "unfair_opinion_groups", "value"].tolist())
        rows.append((model, topics[0], topics[1], opinion[0], opinion[1]))
    return pd.DataFrame(rows, columns=["model", "bur_topics", "n_topics", "bur_opinion_groups", "n_opinion_groups"])


SQL_CLUSTER_COVERAGE = """
SELECT cc.cluster, cl.label, cl.keywords, cc.size, cc.p_s, cc.p_t, cc.ratio, cc.covered, cc.is_minority
FROM p.cluster_coverage cc
LEFT JOIN m.clusters cl ON cl.cluster = cc.cluster
WHERE cc.output_id = ?
ORDER BY cc.size DESC
"""


@_readable
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


@_readable
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


@_readable
def unit_positions(ws: Workspace, *, pluralism_run: str, mapping_run: str, output_id: str) -> pd.DataFrame:
    """Each linked unit placed at the mean map position of the contributions it links to."""
    with corpus_with_runs(ws, {"p": pluralism_run, "m": mapping_run}) as con:
        return con.execute(SQL_UNIT_POSITIONS, [output_id]).df()


@_readable
def scored_table(ws: Workspace, run_id: str, table: str, *, output_id: str) -> pd.DataFrame:
    """Rows of one output from a per-output table of a scoring run (jr_violations, representatives, ...)."""
    con = open_run(ws, run_id)
    try:
        return con.execute(f"SELECT * FROM {quote_identifier(table)} WHERE output_id = ?", [output_id]).df()
    finally:
        con.close()


SQL_CLUSTER_BREAKDOWN = """
SELECT a.cluster, coalesce(c.{column}, d.{column}, 'unknown') AS value, count(*) AS n,
       count(DISTINCT c.author_pid) AS n_authors
FROM m.assignments a
JOIN contributions c ON c.debate_id = $debate AND c.contribution_id = a.contribution_id
JOIN debates d ON d.debate_id = $debate
WHERE list_contains($clusters, a.cluster)
GROUP BY ALL ORDER BY a.cluster, n DESC
"""


@_readable
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


@_readable
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


@_readable
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


@_readable
def review_list(ws: Workspace, *, fidelity_run: str, limit: int = 50) -> pd.DataFrame:
    """The rewrites most in need of review (highest review score first), with source and output texts."""
    with corpus_with_runs(ws, {"f": fidelity_run}) as con:
        return con.execute(SQL_REVIEW_LIST, [limit]).df()


def _run_rows(con: duckdb.DuckDBPyConnection, table: str, output_id: str) -> pd.DataFrame:
    """One output's rows of a run table (an empty frame when the run has no such table)."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if table not in tables:
        return pd.DataFrame()
    return con.execute(f"SELECT * FROM {quote_identifier(table)} WHERE output_id = ?", [output_id]).df()


@_readable
def verdict(ws: Workspace, pluralism_run: str, output_id: str) -> str:
    """The plain-language finding for one scored output (:func:`dembias.read.verdict.summary_verdict`); '' if unscored."""
    from dembias.read.verdict import summary_verdict

    con = open_run(ws, pluralism_run)
    try:
        frames = {
            t: _run_rows(con, t, output_id)
            for t in ("outputs", "scores", "cluster_coverage", "opinion_groups", "units")
        }
    finally:
        con.close()
    if frames["outputs"].empty:
        return ""
    return summary_verdict(
        frames["outputs"].iloc[0].to_dict(),
        scores=frames["scores"],
        cluster_coverage=frames["cluster_coverage"],
        opinion_groups=frames["opinion_groups"],
        units=frames["units"],
    )


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


@_readable
def summary_sentences(ws: Workspace, *, pluralism_run: str, mapping_run: str, output_id: str) -> pd.DataFrame:
    """The scored output's own text, one row per unit (sentence), with what each carries.

    Columns: ``unit_index``, ``text``, ``duplicate_of`` (-1 or the unit it repeats), ``content_free``,
    ``reason``, ``n_links``, ``stance`` and ``vote_group`` (the opinion group it speaks for), ``n_cited``
    and ``n_supported`` (its citations, and those that pass the support test), ``topic_clusters`` and
    ``topic_labels`` (the topics its links reach, most links first). Chips: :func:`dembias.read.verdict.sentence_chips`.
    """
    with corpus_with_runs(ws, {"p": pluralism_run, "m": mapping_run}) as con:
        return con.execute(SQL_SUMMARY_SENTENCES, {"output": output_id}).df()


@_readable
def interaction_runs(ws: Workspace, debate_id: str | None) -> list[RunInfo]:
    """Scored interactions runs (``dembias score interactions``) of this debate, then of all debates, newest first."""
    from dembias.workspace.store import list_runs

    scored = [r for r in list_runs(ws, stage="interactions") if r.manifest.get("params", {}).get("scope")]
    scored.sort(key=lambda r: r.created_at, reverse=True)
    return [r for r in scored if r.debate_id == debate_id] + [r for r in scored if r.debate_id is None]


# --------------------------------------------------------------------------------------------------
# repeated samples and prompt variants (issue 21)


@_readable
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


@_readable
def run_sample_spread(ws: Workspace, pluralism_run: str) -> pd.DataFrame:
    """Each pluralism metric of a scoring run per model, and per model x prompt, across repeated samples.

    The frame of :func:`dembias.read.sample_spread.spread_by_levels`: model, prompt_id (None on the
    all-prompts row), metric, n_samples, n_outputs, mean, sd, min, max and the 95% t interval
    low-high over the sample scores. Empty when the run scored nothing.
    """
    from dembias.read.sample_spread import PLURALISM_SPREAD_METRICS, pluralism_sample_scores, spread_by_levels

    wide = scorecard(ws, pluralism_run)
    metrics = [m for m in PLURALISM_SPREAD_METRICS if m in wide.columns]
    if wide.empty or not metrics:
        return pd.DataFrame()
    scores = wide[["output_id", "model", *metrics]].melt(
        id_vars=["output_id", "model"], var_name="metric", value_name="value"
    )
    variants = output_variants(ws, list(wide["output_id"]))
    scores = scores.merge(variants[["output_id", "debate_id"]], on="output_id", how="left")
    long = pluralism_sample_scores(scores, variants, metrics=metrics)
    return spread_by_levels(long, levels=[("model",), ("model", "prompt_id")])


# --- issue 17 (items 3 and 5): the one small-cell rule for quotes, on every view --------------------------------

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


@_readable
def attribute_cells(ws: Workspace, debate_id: str) -> pd.DataFrame:
    """The debate's (country, language) pairs with their contributions ``n`` and distinct authors ``n_authors``.

    Rejected contributions are left out. Input of :func:`dembias.small_cells.public_attributes`.
    """
    con = open_corpus(ws)
    try:
        return attribute_cells_on(con, debate_id)
    finally:
        con.close()
