"""Pluralism scoring of a debate's summaries: load from the workspace, link, score, write a run.

A run of stage ``pluralism`` per debate holds (every table has ``output_id``):

* ``outputs(output_id, model, task, n_units, n_linked_units, link_method, link_threshold)``
* ``scores(output_id, metric, value, low, high)``: headline metrics, 95% bootstrap intervals where
  they apply (see :data:`dembias.metrics.pluralism.INTERVAL_METRICS`)
* ``cluster_coverage(output_id, cluster, size, p_s, p_t, ratio, covered, is_minority)`` (noise: -1)
* ``links(output_id, unit_index, contribution_id, method, score)``
* ``coverage(output_id, contribution_id, p)``
* ``jr_violations(output_id, cluster, size, k, threshold)``: k = units with at least one link,
  threshold = N/k (justified representation; the scores also hold ``jr_k`` and ``jr_threshold``)
* ``group_coverage(output_id, dimension, value, n, n_contributors, p_s, p_t, mean_coverage, parity,
  suppressed)`` (dimensions: vote_group, language, country, and any ``group_by`` column)
* ``representatives(output_id, vote_group, contribution_id, representativeness, covered)``
* ``common_ground(output_id, unit_index, contribution_id, gac, min_agree_rate, agreed_by_all)``

Its inputs are the debate's latest mapping run and the embedding runs used for similarity links.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from dembias.align import NliModel, empty_links, link_output
from dembias.errors import DembiasError
from dembias.metrics.pluralism import PluralismResult, score_pluralism
from dembias.store import RunInfo, Workspace, latest_run, open_corpus, open_run, quote_identifier, write_run

Progress = Callable[[str], None]

PLURALISM_STAGE = "pluralism"
MAPPING_STAGE = "mapping"
DEFAULT_BUDGET = 20

SQL_CONTRIBUTIONS = """
SELECT c.contribution_id, c.text, c.language, coalesce(c.country, d.country) AS country, c.author_pid,
       c.n_agree, c.n_disagree, c.n_pass, c.metadata, c.debate_id
FROM contributions c JOIN debates d USING (debate_id)
WHERE c.debate_id = ? AND (? OR NOT c.is_rejected)
ORDER BY c.contribution_id
"""
SQL_OUTPUTS = """
SELECT output_id, model, task FROM outputs WHERE debate_id = ? AND task = 'summary' ORDER BY model, output_id
"""
SQL_UNITS = """
SELECT u.output_id, u.unit_index, u.text, u.kind, u.section
FROM output_units u JOIN outputs o USING (output_id)
WHERE o.debate_id = ? AND o.task = 'summary' ORDER BY u.output_id, u.unit_index
"""
SQL_CITATIONS = """
SELECT c.output_id, c.unit_index, c.contribution_id
FROM citations c JOIN outputs o USING (output_id)
WHERE o.debate_id = ? AND o.task = 'summary'
"""

_STR, _INT, _F, _B = pa.string(), pa.int64(), pa.float64(), pa.bool_()
SCHEMAS: dict[str, pa.Schema] = {
    "outputs": pa.schema(
        [
            ("output_id", _STR),
            ("model", _STR),
            ("task", _STR),
            ("n_units", _INT),
            ("n_linked_units", _INT),
            ("link_method", _STR),
            ("link_threshold", _F),
        ]
    ),
    "scores": pa.schema([("output_id", _STR), ("metric", _STR), ("value", _F), ("low", _F), ("high", _F)]),
    "cluster_coverage": pa.schema(
        [
            ("output_id", _STR),
            ("cluster", _INT),
            ("size", _INT),
            ("p_s", _F),
            ("p_t", _F),
            ("ratio", _F),
            ("covered", _B),
            ("is_minority", _B),
        ]
    ),
    "links": pa.schema(
        [("output_id", _STR), ("unit_index", _INT), ("contribution_id", _STR), ("method", _STR), ("score", _F)]
    ),
    "coverage": pa.schema([("output_id", _STR), ("contribution_id", _STR), ("p", _F)]),
    "jr_violations": pa.schema(
        [("output_id", _STR), ("cluster", _INT), ("size", _INT), ("k", _INT), ("threshold", _F)]
    ),
    "group_coverage": pa.schema(
        [
            ("output_id", _STR),
            ("dimension", _STR),
            ("value", _STR),
            ("n", _INT),
            ("n_contributors", _INT),
            ("p_s", _F),
            ("p_t", _F),
            ("mean_coverage", _F),
            ("parity", _F),
            ("suppressed", _B),
        ]
    ),
    "representatives": pa.schema(
        [
            ("output_id", _STR),
            ("vote_group", _INT),
            ("contribution_id", _STR),
            ("representativeness", _F),
            ("covered", _B),
        ]
    ),
    "common_ground": pa.schema(
        [
            ("output_id", _STR),
            ("unit_index", _INT),
            ("contribution_id", _STR),
            ("gac", _F),
            ("min_agree_rate", _F),
            ("agreed_by_all", _B),
        ]
    ),
}


@dataclass
class DebateInputs:
    """What scoring a debate needs, loaded from the corpus and the debate's latest mapping run."""

    debate_id: str
    contributions: pd.DataFrame
    mapping_run: RunInfo
    assignments: pd.DataFrame
    comment_group_votes: pd.DataFrame | None
    consensus: pd.DataFrame | None
    outputs: pd.DataFrame
    units: pd.DataFrame
    citations: pd.DataFrame


@dataclass
class OutputScore:
    """One scored output: its identity, link info and the metric results."""

    debate_id: str
    output_id: str
    model: str
    link_info: dict[str, Any]
    result: PluralismResult
    links: pd.DataFrame = field(repr=False, default_factory=empty_links)

    def to_json(self, *, group_by: Sequence[str] = ()) -> dict[str, Any]:
        """The CLI's JSON object for this output (headlines as {"value", "low", "high"})."""
        head = self.result.headline()

        def interval(name: str) -> dict[str, Any] | None:
            return head.get(name)

        def value(name: str) -> Any:
            return head.get(name, {}).get("value")

        obj: dict[str, Any] = {
            "debate_id": self.debate_id,
            "output_id": self.output_id,
            "model": self.model,
            "link_method": self.link_info.get("method"),
            "n_units": value("n_units"),
            "n_linked_units": value("n_linked_units"),
            "n_clusters": value("n_clusters"),
            "coverage": interval("coverage"),
            "survival": interval("survival"),
            "minority_survival": interval("minority_survival"),
            "majority_survival": interval("majority_survival"),
            "minority_survival_gap": interval("minority_survival_gap"),
            "uer_clusters": interval("uer_clusters"),
            "bur_clusters": interval("bur_clusters"),
            "uer_vote_groups": interval("uer_vote_groups"),
            "bur_vote_groups": interval("bur_vote_groups"),
            "representative_survival": value("representative_survival"),
            "common_ground_precision": value("common_ground_precision"),
            "jr_k": value("jr_k"),
            "jr_threshold": _finite(value("jr_threshold")),  # None when no unit links (k = 0)
            "jr_violations": self.result.jr_violations[["cluster", "size"]].to_dict("records"),
            "uer_by_dimension": {k[4:]: v["value"] for k, v in head.items() if k.startswith("uer:")},
            "equal_coverage": {k[15:]: v["value"] for k, v in head.items() if k.startswith("equal_coverage:")},
        }
        if group_by:
            table = self.result.group_coverage
            obj["coverage_by_group"] = {
                dim: {
                    row.value: (None if row.suppressed else row.mean_coverage)
                    for row in table[table["dimension"] == dim].itertuples(index=False)
                }
                for dim in group_by
            }
        return obj


# --------------------------------------------------------------------------------------------------
# loading


def _metadata_column(contributions: pd.DataFrame, key: str) -> pd.Series:
    def pick(raw: Any) -> Any:
        if raw is None or (isinstance(raw, float) and np.isnan(raw)):
            return None
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return None
        return value.get(key) if isinstance(value, dict) else None

    return contributions["metadata"].map(pick)


def load_debate_inputs(
    ws: Workspace, debate_id: str, *, include_rejected: bool = False, group_by: Sequence[str] = ()
) -> DebateInputs:
    """Contributions, summaries (units, citations) and the latest mapping run's tables of a debate.

    A ``group_by`` name that is not a contributions column is looked up as a key of the ``metadata``
    JSON. Raises :class:`DembiasError` when the debate has no mapping run.
    """
    con = open_corpus(ws)
    try:
        if not con.execute("SELECT 1 FROM debates WHERE debate_id = ?", [debate_id]).fetchall():
            raise DembiasError(f"no debate {debate_id!r} in {ws.root}")
        contributions = con.execute(SQL_CONTRIBUTIONS, [debate_id, include_rejected]).df()
        outputs = con.execute(SQL_OUTPUTS, [debate_id]).df()
        units = con.execute(SQL_UNITS, [debate_id]).df()
        citations = con.execute(SQL_CITATIONS, [debate_id]).df()
    finally:
        con.close()
    for key in group_by:
        if key not in contributions.columns:
            column = _metadata_column(contributions, key)
            if column.isna().all():
                raise DembiasError(f"debate {debate_id}: no column or metadata key {key!r} to group by")
            contributions[key] = column
    mapping = latest_run(ws, stage=MAPPING_STAGE, debate_id=debate_id)
    if mapping is None:
        raise DembiasError(f"debate {debate_id!r} has no mapping run; run `dembias map --debate {debate_id}` first")
    tables = _read_tables(ws, mapping.run_id, ("assignments", "comment_group_votes", "consensus"))
    return DebateInputs(
        debate_id=debate_id,
        contributions=contributions,
        mapping_run=mapping,
        assignments=tables["assignments"],
        comment_group_votes=tables.get("comment_group_votes"),
        consensus=tables.get("consensus"),
        outputs=outputs,
        units=units,
        citations=citations,
    )


def _read_tables(ws: Workspace, run_id: str, names: Sequence[str]) -> dict[str, pd.DataFrame]:
    con = open_run(ws, run_id)
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        return {n: con.execute(f"SELECT * FROM {quote_identifier(n)}").df() for n in names if n in present}
    finally:
        con.close()


def embedder_for_mapping(mapping: RunInfo) -> Any:
    """The embedder the mapping run used (by its model id), for similarity links and baselines."""
    from dembias.embed import FakeEmbedder, get_embedder

    params = mapping.manifest.get("params", {})
    model_id = params.get("embedder") or "use-multilingual"
    if model_id == "fake":
        fields = dict(p.split("=", 1) for p in str(params.get("revision", "")).split(";") if "=" in p)
        return FakeEmbedder(
            dim=int(fields.get("dim", 32)), noise=float(fields.get("noise", 0.35)), seed=int(fields.get("seed", 0))
        )
    if model_id == "use-multilingual":
        return get_embedder("use-multilingual")
    return get_embedder(f"sentence-transformers:{model_id}")


# --------------------------------------------------------------------------------------------------
# scoring


def score_debate(
    ws: Workspace,
    debate_id: str,
    *,
    output_ids: Sequence[str] | None = None,
    group_by: Sequence[str] = (),
    embedder: Any | None = None,
    nli: NliModel | None = None,
    minority_share: float = 0.2,
    min_cell: int = 5,
    n_resamples: int = 1000,
    seed: int = 0,
    include_rejected: bool = False,
    progress: Progress | None = None,
    extra_manifest: Mapping[str, Any] | None = None,
) -> tuple[RunInfo | None, list[OutputScore]]:
    """Link and score every summary of a debate (or ``output_ids``) and write one pluralism run.

    Returns (run info, scores); no run is written when the debate has no summary to score.
    """
    say = progress or (lambda _m: None)
    started = time.perf_counter()
    inputs = load_debate_inputs(ws, debate_id, include_rejected=include_rejected, group_by=group_by)
    outputs = inputs.outputs
    if output_ids:
        missing = set(output_ids) - set(outputs["output_id"])
        if missing:
            raise DembiasError(f"debate {debate_id}: no summary output {sorted(missing)}")
        outputs = outputs[outputs["output_id"].isin(set(output_ids))]
    if outputs.empty:
        say(f"pluralism {debate_id}: no summary to score")
        return None, []
    timings = {"load": time.perf_counter() - started}
    cited = set(inputs.citations["output_id"])
    need_vectors = any(o not in cited for o in outputs["output_id"])
    run_inputs = [inputs.mapping_run.run_id]
    contribution_vectors = unit_vectors_all = None
    if need_vectors:
        from dembias.embed import embed_texts

        embedder = embedder or embedder_for_mapping(inputs.mapping_run)
        t0 = time.perf_counter()
        emb_c = embed_texts(ws, inputs.contributions["text"].tolist(), embedder, debate_id=debate_id)
        emb_u = embed_texts(ws, inputs.units["text"].tolist(), embedder, debate_id=debate_id)
        contribution_vectors, unit_vectors_all = emb_c.matrix, emb_u.matrix
        run_inputs += list(dict.fromkeys([*emb_c.input_run_ids, *emb_u.input_run_ids]))
        timings["embed"] = time.perf_counter() - t0

    scored: list[OutputScore] = []
    t0 = time.perf_counter()
    for row in outputs.itertuples(index=False):
        mask = (inputs.units["output_id"] == row.output_id).to_numpy()
        units = inputs.units[mask]
        links, info = link_output(
            row.output_id,
            units,
            inputs.contributions,
            citations=inputs.citations,
            unit_vectors=None if unit_vectors_all is None else unit_vectors_all[mask],
            contribution_vectors=contribution_vectors,
            nli=nli,
            seed=seed,
        )
        result = score_pluralism(
            inputs.contributions,
            inputs.assignments,
            links,
            n_units=len(units),
            units=units,
            comment_group_votes=inputs.comment_group_votes,
            consensus=inputs.consensus,
            group_by=group_by,
            minority_share=minority_share,
            min_cell=min_cell,
            n_resamples=n_resamples,
            seed=seed,
        )
        scored.append(OutputScore(debate_id, row.output_id, row.model, info, result, links))
        head = result.headline()
        say(
            f"pluralism {debate_id} {row.model}: survival {head['survival']['value']:.2f}, "
            f"minority {_fmt(head['minority_survival']['value'])}, UER {_fmt(head['uer_clusters']['value'])}"
        )
    timings["score"] = time.perf_counter() - t0
    tables = results_tables(scored, outputs)
    info = write_run(
        ws,
        stage=PLURALISM_STAGE,
        debate_id=debate_id,
        tables=tables,
        params={
            "group_by": list(group_by),
            "minority_share": minority_share,
            "min_cell": min_cell,
            "n_resamples": n_resamples,
            "seed": seed,
            "include_rejected": include_rejected,
            "nli_model": getattr(getattr(nli, "model", None), "name_or_path", None),
            "embedder": getattr(embedder, "model_id", None),
        },
        inputs=run_inputs,
        timings=timings,
        extra_manifest=extra_manifest,
    )
    say(f"pluralism {debate_id}: {len(scored)} outputs -> {info.run_id}")
    return info, scored


def _finite(x: Any) -> Any:
    return x if x is None or np.isfinite(x) else None


def _fmt(x: Any) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def results_tables(scored: Sequence[OutputScore], outputs: pd.DataFrame) -> dict[str, pa.Table]:
    """The run tables (typed Arrow, one row set per output) of a list of scored outputs."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in SCHEMAS}
    task = outputs.set_index("output_id")["task"]
    for s in scored:
        head = s.result.scores.set_index("metric")["value"]
        parts["outputs"].append(
            pd.DataFrame(
                [
                    {
                        "output_id": s.output_id,
                        "model": s.model,
                        "task": task.get(s.output_id, "summary"),
                        "n_units": int(head["n_units"]),
                        "n_linked_units": int(head["n_linked_units"]),
                        "link_method": s.link_info.get("method"),
                        "link_threshold": s.link_info.get("threshold"),
                    }
                ]
            )
        )
        r = s.result
        for name, frame in (
            ("scores", r.scores),
            ("cluster_coverage", r.cluster_coverage),
            ("links", s.links.drop(columns=["output_id"], errors="ignore")),
            ("coverage", r.coverage),
            ("jr_violations", r.jr_violations),
            ("group_coverage", r.group_coverage),
            ("representatives", r.representatives),
            ("common_ground", r.common_ground),
        ):
            if len(frame):
                parts[name].append(frame.assign(output_id=s.output_id))
    return {name: _to_arrow(parts[name], SCHEMAS[name]) for name in SCHEMAS}


def _to_arrow(frames: list[pd.DataFrame], schema: pa.Schema) -> pa.Table:
    if not frames:
        return schema.empty_table()
    frame = pd.concat(frames, ignore_index=True)[schema.names]
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


# --------------------------------------------------------------------------------------------------
# baselines and the demo


def add_baselines(
    ws: Workspace,
    debate_id: str,
    *,
    budget: int = DEFAULT_BUDGET,
    seed: int = 0,
    embedder: Any | None = None,
    progress: Progress | None = None,
) -> list[str]:
    """Make the baseline summaries of a debate and store them (replacing earlier ones); returns their ids."""
    from dembias.embed import embed_texts
    from dembias.ingest.outputs import store_outputs
    from dembias.store import corpus_writer
    from dembias.summarize import baseline_outputs

    inputs = load_debate_inputs(ws, debate_id)
    embedder = embedder or embedder_for_mapping(inputs.mapping_run)
    vectors = embed_texts(ws, inputs.contributions["text"].tolist(), embedder, debate_id=debate_id).matrix
    records = baseline_outputs(
        inputs.contributions,
        vectors,
        inputs.assignments,
        budget=budget,
        seed=seed,
        consensus=inputs.consensus,
    )
    with corpus_writer(ws) as con:
        store_outputs(con, records, replace=True)
    if progress:
        progress(f"baselines {debate_id}: {', '.join(r.model for r in records)} ({budget} units each)")
    return [r.output_id for r in records]


def demo_stage(ws: Workspace, manifest: dict[str, Any], progress: Progress) -> None:
    """Demo build stage: add the baselines and score every summary (Gemini report and baselines) per debate."""
    ids = [entry["debate_id"] for entry in manifest.get("polis", [])]
    for debate_id in ids:
        if latest_run(ws, stage=MAPPING_STAGE, debate_id=debate_id) is None:
            progress(f"pluralism {debate_id}: no mapping run, skipped")
            continue
        add_baselines(ws, debate_id, progress=progress)
        score_debate(ws, debate_id, progress=progress)
