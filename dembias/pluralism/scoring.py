"""Pluralism scoring of a debate's summaries: load from the workspace, link, score, write a run.

A run of stage ``pluralism`` per debate holds the tables of :mod:`dembias.pluralism.tables`. Every
output, real or a control of ``dembias validate``, goes through the same path: the debate is
prepared once (:func:`prepare_debate`: contributions embedded, the support test calibrated against
unrelated texts), then each output is screened, linked and scored by :func:`score_output`. The
manifest records every parameter, the seed, and the calibrated thresholds.

Its inputs are the debate's latest mapping run and the embedding runs of its contributions, units and
the unrelated sentences.
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

from dembias.errors import DembiasError
from dembias.models.embedders import normalise_rows
from dembias.models.nli import NliJudge
from dembias.pluralism.align import empty_links, link_output
from dembias.pluralism.metrics import PluralismResult, score_pluralism
from dembias.pluralism.quality import Quality, assess_output
from dembias.pluralism.support import SupportCalibration, calibrate_support, null_sentences_for, screen_units
from dembias.pluralism.tables import SCHEMAS, to_arrow
from dembias.small_cells import MIN_CELL
from dembias.validation import check_at_least, check_share
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from dembias.workspace.identifiers import quote_identifier
from dembias.workspace.runs import RunInfo, latest_run, open_run, write_run
from dembias.workspace.staleness import stale_warning, workspace_fingerprint

Progress = Callable[[str], None]

PLURALISM_STAGE = "pluralism"
MAPPING_STAGE = "mapping"
DEFAULT_BUDGET = 20
SCORED_CONTRIBUTION_COLUMNS = (
    "contribution_id", "text", "language", "country", "author_pid",
    "n_agree", "n_disagree", "n_pass", "metadata", "debate_id",
)  # fmt: skip

SQL_OUTPUTS = """
SELECT output_id, model, task, text, prompt, target_language
FROM outputs WHERE debate_id = ? AND task = 'summary' ORDER BY model, output_id
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
    """One scored output: its identity, how it was linked, its screened units, quality and the metric results."""

    debate_id: str
    output_id: str
    model: str
    link_info: dict[str, Any]
    result: PluralismResult
    links: pd.DataFrame = field(repr=False, default_factory=empty_links)
    units: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)
    quality: Quality = field(default_factory=Quality)

    def to_json(self, *, group_by: Sequence[str] = ()) -> dict[str, Any]:
        """The CLI's JSON object for this output (headlines as {"value", "low", "high", "placebo"})."""
        return output_json(self, group_by=group_by)


def output_json(score: OutputScore, *, group_by: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON record of one scored output: three notions of minority named apart (module docstring)."""
    head = score.result.headline()
    info = score.link_info

    def cell(name: str) -> dict[str, Any] | None:
        if name not in head:
            return None
        out = dict(head[name])
        placebo = head.get(f"placebo:{name}")
        if placebo is not None:
            out["placebo"] = placebo["value"]
            out["placebo_range"] = [placebo["low"], placebo["high"]]
            out["minus_placebo"] = None if out["value"] is None else out["value"] - placebo["value"]
        return out

    def value(name: str) -> Any:
        return head.get(name, {}).get("value")

    units = score.units
    obj: dict[str, Any] = {
        "debate_id": score.debate_id,
        "output_id": score.output_id,
        "model": score.model,
        "quality_flags": list(score.quality.flags),
        "quality_notes": list(score.quality.notes),
        "link_method": info.get("method"),
        "link_threshold": info.get("threshold"),
        "n_units": value("n_units"),
        "n_distinct_units": int((units["duplicate_of"] < 0).sum()) if len(units) else 0,
        "n_content_free_units": int(units["content_free"].sum()) if len(units) else 0,
        "n_linked_units": value("n_linked_units"),
        "citations": None
        if info.get("method") != "citation"
        else {
            "n": info.get("n_citations"),
            "supported": info.get("n_supported"),
            "precision": info.get("citation_precision"),
            "unknown_ids": info.get("n_citations_unknown"),
        },
        "coverage": cell("coverage"),
        "survival": cell("survival"),
        "minority_topics": {
            "definition": "the smallest clusters of what was written, together holding at most "
            f"{score.result.info.get('minority_share', 0.2):.0%} of the contributions (topics, not opinion groups)",
            "n_topics": value("n_clusters"),
            "n_minority_topics": value("n_minority_topics"),
            "survival": cell("minority_topic_survival"),
            "majority_survival": cell("majority_topic_survival"),
            "gap": cell("minority_topic_gap"),
            "uer": cell("uer_topics"),
            "unfair": value("unfair_topics"),
        },
        "opinion_groups": _opinion_groups_json(score.result, cell, value),
        "declared_groups": _declared_groups_json(score.result, group_by),
        "justified_representation": {
            "k": value("jr_k"),
            "threshold": _finite(value("jr_threshold")),  # None when no unit links (k = 0)
            "violations": score.result.jr_violations[["cluster", "size"]].to_dict("records"),
            "note": "k counts distinct sentences that carry content; a cohesive topic of at least N/k "
            "contributions must get one",
        },
        "representative_survival": value("representative_survival"),
        "common_ground_precision": value("common_ground_precision"),
        "uer_by_dimension": {k[4:]: v["value"] for k, v in head.items() if k.startswith("uer:")},
        "equal_coverage": {k[15:]: v["value"] for k, v in head.items() if k.startswith("equal_coverage:")},
    }
    return obj


def _opinion_groups_json(result: PluralismResult, cell: Callable, value: Callable) -> dict[str, Any]:
    table = result.opinion_groups
    if table is None or table.empty:
        return {"available": False, "note": "no votes: opinion groups and stance are not scored for this debate"}
    groups = []
    for row in table.itertuples(index=False):
        groups.append(
            {
                "group": int(row.vote_group),
                "n_participants": int(row.n_participants),
                "share_of_debate": {"value": row.p_s, "low": row.p_s_low, "high": row.p_s_high},
                "share_of_summary": row.p_t,
                "ratio": {"value": row.ratio, "low": _finite(row.ratio_low), "high": _finite(row.ratio_high)},
                "units_speaking_for": int(row.n_units_for),
                "under_represented": bool(row.under_represented),
                "small_group": bool(row.small_cell),
            }
        )
    return {
        "available": True,
        "stance": "estimated from how each group voted on the contributions a sentence links; whether the "
        "sentence agrees or disagrees with them is not scored without an NLI judge",
        "groups": groups,
        "n_under_represented": value("opinion_groups_under_represented"),
        "uer": cell("uer_opinion_groups"),
        "unfair": value("unfair_opinion_groups"),
        "units_by_stance": {k[13:]: v["value"] for k, v in result.headline().items() if k.startswith("units_stance:")},
    }


def _declared_groups_json(result: PluralismResult, group_by: Sequence[str]) -> dict[str, Any]:
    table = result.group_coverage
    out: dict[str, Any] = {}
    for dim in [*group_by, *(d for d in ("language", "country") if d not in group_by)]:
        rows = table[table["dimension"] == dim]
        if rows.empty:
            continue
        out[dim] = [
            {
                "value": row.value,
                "n": int(row.n),
                "n_contributors": int(row.n_contributors),
                "share_of_debate": row.p_s,
                "share_of_summary": None if row.suppressed else _finite(row.p_t),
                "coverage": None
                if row.suppressed
                else {"value": row.mean_coverage, "low": row.coverage_low, "high": row.coverage_high},
                "parity": None if row.suppressed else _finite(row.parity),
                "under_represented": bool(row.under_represented),
                "suppressed": bool(row.suppressed),
            }
            for row in rows.itertuples(index=False)
        ]
    return out


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
        contributions = select_contributions(
            con, debate_id=debate_id, include_rejected=include_rejected, columns=SCORED_CONTRIBUTION_COLUMNS
        )
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
    """The embedder the mapping run used (its manifest's model id and revision), for links and baselines."""
    from dembias.models.embedders import get_embedder, spec_from_manifest

    return get_embedder(spec_from_manifest(mapping.manifest.get("params", {})))


# --------------------------------------------------------------------------------------------------
# scoring


@dataclass
class DebateContext:
    """A debate made ready to score outputs against: inputs, vectors, support calibration, opinion groups."""

    inputs: DebateInputs
    title: str
    language: str | None
    embedder: Any
    contribution_vectors: np.ndarray
    calibration: SupportCalibration
    participant_groups: pd.Series | None
    run_inputs: list[str]
    title_vector: np.ndarray | None = None  # set by prepare_debate: embedded once, screened against by every output

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of texts that are not stored (controls, the title), L2-normalised, uncached."""
        if not texts:
            return np.zeros((0, self.contribution_vectors.shape[1]), dtype=np.float32)
        return normalise_rows(np.asarray(self.embedder.embed(list(texts)), dtype=np.float32))


def prepare_debate(
    ws: Workspace,
    debate_id: str,
    *,
    embedder: Any | None = None,
    include_rejected: bool = False,
    group_by: Sequence[str] = (),
    seed: int = 0,
) -> DebateContext:
    """Load a debate, embed its contributions (cached) and calibrate its support test (:mod:`dembias.pluralism.support`)."""
    from dembias.opinion_map.embed import embed_texts

    inputs = load_debate_inputs(ws, debate_id, include_rejected=include_rejected, group_by=group_by)
    embedder = embedder or embedder_for_mapping(inputs.mapping_run)
    emb_c = embed_texts(ws, inputs.contributions["text"].tolist(), embedder, debate_id=debate_id)
    con = open_corpus(ws)
    try:
        title, language = con.execute("SELECT title, language FROM debates WHERE debate_id = ?", [debate_id]).fetchone()
    finally:
        con.close()
    null_set = null_sentences_for(language)
    null = embed_texts(ws, null_set["text"].tolist(), embedder)
    groups = _read_tables(ws, inputs.mapping_run.run_id, ("vote_groups",)).get("vote_groups")
    participant_groups = groups["vote_group"].astype(int) if groups is not None and len(groups) else None
    ctx = DebateContext(
        inputs=inputs,
        title=str(title),
        language=language,
        embedder=embedder,
        contribution_vectors=emb_c.matrix,
        calibration=calibrate_support(
            emb_c.matrix,
            null.matrix,
            seed=seed,
            null_language=str(null_set["language"].iloc[0]) if null_set["language"].nunique() == 1 else "all",
        ),
        participant_groups=participant_groups,
        run_inputs=list(dict.fromkeys([inputs.mapping_run.run_id, *emb_c.input_run_ids, *null.input_run_ids])),
    )
    ctx.title_vector = ctx.embed([ctx.title])[0]
    return ctx


def score_output(
    ctx: DebateContext,
    *,
    output_id: str,
    model: str,
    units: pd.DataFrame,
    unit_vectors: np.ndarray,
    citations: pd.DataFrame | None = None,
    text: str | None = None,
    prompt: str | None = None,
    expected_language: str | None = None,
    nli: NliJudge | None = None,
    group_by: Sequence[str] = (),
    minority_share: float = 0.2,
    min_cell: int = MIN_CELL,
    n_resamples: int = 1000,
    n_placebo: int = 20,
    seed: int = 0,
) -> OutputScore:
    """Screen, link and score one summary against a prepared debate: the one path for real outputs and controls.

    ``units``: ``unit_index``, ``text`` (and ``kind``); ``unit_vectors`` row-aligned with them.
    """
    units = units.reset_index(drop=True)
    inputs = ctx.inputs
    screen = screen_units(
        units["text"].astype(str).tolist(),
        unit_vectors,
        ctx.contribution_vectors,
        ctx.calibration,
        title=ctx.title,
        title_vector=ctx.title_vector if ctx.title_vector is not None else ctx.embed([ctx.title])[0],
    )
    links, info = link_output(
        output_id,
        units,
        inputs.contributions,
        unit_vectors=unit_vectors,
        contribution_vectors=ctx.contribution_vectors,
        calibration=ctx.calibration,
        screen=screen,
        citations=citations,
        nli=nli,
    )
    result = score_pluralism(
        inputs.contributions,
        inputs.assignments,
        links,
        n_units=len(units),
        units=units,
        comment_group_votes=inputs.comment_group_votes,
        consensus=inputs.consensus,
        participant_groups=ctx.participant_groups,
        group_by=group_by,
        minority_share=minority_share,
        min_cell=min_cell,
        n_resamples=n_resamples,
        n_placebo=n_placebo,
        seed=seed,
    )
    unit_table = _unit_table(units, screen, links, result)
    quality = assess_output(
        units["text"].astype(str).tolist(),
        screen,
        text=text,
        prompt=prompt,
        expected_language=expected_language or ctx.language,
        n_linked_units=int(links["unit_index"].nunique()),
        n_citations=int(info.get("n_citations") or 0),
        n_supported=int(info.get("n_supported") or 0),
    )
    return OutputScore(inputs.debate_id, output_id, model, info, result, links, unit_table, quality)


def _unit_table(
    units: pd.DataFrame, screen: pd.DataFrame, links: pd.DataFrame, result: PluralismResult
) -> pd.DataFrame:
    """Every unit with its screening, number of links and stance (the run's ``units`` table)."""
    index = units["unit_index"].to_numpy(dtype=np.int64)
    duplicate_of = screen["duplicate_of"].to_numpy()
    n_links = links.groupby("unit_index")["contribution_id"].nunique() if len(links) else pd.Series(dtype=int)
    stances = result.unit_stances.set_index("unit_index") if len(result.unit_stances) else None
    return pd.DataFrame(
        {
            "unit_index": index,
            "text": units["text"].astype(str).to_numpy(),
            "duplicate_of": np.where(duplicate_of >= 0, index[np.maximum(duplicate_of, 0)], -1),
            "content_free": screen["content_free"].to_numpy(dtype=bool),
            "reason": screen["reason"].to_numpy(dtype=object),
            "max_similarity": screen["max_similarity"].to_numpy(dtype=float),
            "centroid_similarity": screen["centroid_similarity"].to_numpy(dtype=float),
            "n_links": pd.Series(index).map(n_links).fillna(0).astype("int64").to_numpy(),
            "stance": [None if stances is None or i not in stances.index else stances.at[i, "stance"] for i in index],
            "vote_group": [
                -1 if stances is None or i not in stances.index else int(stances.at[i, "vote_group"]) for i in index
            ],
        }
    )


def score_summaries(
    ws: Workspace,
    ctx: DebateContext,
    outputs: pd.DataFrame,
    *,
    on_scored: Callable[[OutputScore], None] | None = None,
    **options: Any,
) -> tuple[list[OutputScore], list[str]]:
    """Score each summary in ``outputs`` (rows of the debate's outputs) against a prepared debate.

    Units are embedded through the workspace cache in one call; ``options`` go to :func:`score_output`.
    Returns (scores, the embedding runs the units came from).
    """
    from dembias.opinion_map.embed import embed_texts

    inputs = ctx.inputs
    if outputs.empty:
        return [], []
    embedded = embed_texts(ws, inputs.units["text"].tolist(), ctx.embedder, debate_id=inputs.debate_id)
    scored = []
    for row in outputs.itertuples(index=False):
        mask = (inputs.units["output_id"] == row.output_id).to_numpy()
        score = score_output(
            ctx,
            output_id=row.output_id,
            model=row.model,
            units=inputs.units[mask],
            unit_vectors=embedded.matrix[mask],
            citations=inputs.citations,
            text=row.text,
            prompt=row.prompt,
            expected_language=row.target_language,
            **options,
        )
        scored.append(score)
        if on_scored is not None:
            on_scored(score)
    return scored, list(embedded.input_run_ids)


def score_debate(
    ws: Workspace,
    debate_id: str,
    *,
    output_ids: Sequence[str] | None = None,
    group_by: Sequence[str] = (),
    embedder: Any | None = None,
    nli: NliJudge | None = None,
    minority_share: float = 0.2,
    min_cell: int = MIN_CELL,
    n_resamples: int = 1000,
    n_placebo: int = 20,
    seed: int = 0,
    include_rejected: bool = False,
    progress: Progress | None = None,
    extra_manifest: Mapping[str, Any] | None = None,
) -> tuple[RunInfo | None, list[OutputScore]]:
    """Link and score every summary of a debate (or ``output_ids``) and write one pluralism run.

    Returns (run info, scores); no run is written when the debate has no summary to score.
    """
    check_share("minority_share", minority_share)
    check_at_least("min_cell", min_cell, 1)
    check_at_least("n_resamples", n_resamples, 1)
    check_at_least("n_placebo", n_placebo, 0)
    check_at_least("seed", seed, 0)
    say = progress or (lambda _m: None)
    started = time.perf_counter()
    fingerprint = workspace_fingerprint(ws, debate_id)
    ctx = prepare_debate(
        ws, debate_id, embedder=embedder, include_rejected=include_rejected, group_by=group_by, seed=seed
    )
    inputs = ctx.inputs
    outputs = _selected_outputs(inputs.outputs, output_ids, debate_id=debate_id)
    if outputs.empty:
        say(f"pluralism {debate_id}: no summary to score")
        return None, []
    timings = {"prepare": time.perf_counter() - started}
    t0 = time.perf_counter()
    scored, unit_runs = score_summaries(
        ws,
        ctx,
        outputs,
        on_scored=lambda score: say(_headline_line(debate_id, score)),
        nli=nli,
        group_by=group_by,
        minority_share=minority_share,
        min_cell=min_cell,
        n_resamples=n_resamples,
        n_placebo=n_placebo,
        seed=seed,
    )
    run_inputs = list(dict.fromkeys([*ctx.run_inputs, *unit_runs]))
    timings["score"] = time.perf_counter() - t0
    run_warnings = [w for w in [stale_warning(ws, inputs.mapping_run)] if w]
    for warning in run_warnings:
        say(f"warning: {warning}")
    info = write_run(
        ws,
        stage=PLURALISM_STAGE,
        debate_id=debate_id,
        tables=results_tables(scored, outputs),
        params={
            "group_by": list(group_by),
            "minority_share": minority_share,
            "min_cell": min_cell,
            "n_resamples": n_resamples,
            "n_placebo": n_placebo,
            "seed": seed,
            "include_rejected": include_rejected,
            **_model_params(ctx, nli),
        },
        inputs=run_inputs,
        timings=timings,
        extra_manifest=extra_manifest,
        fingerprint=fingerprint,
        warnings=run_warnings,
    )
    say(f"pluralism {debate_id}: {len(scored)} outputs -> {info.run_id}")
    return info, scored


def _selected_outputs(outputs: pd.DataFrame, output_ids: Sequence[str] | None, *, debate_id: str) -> pd.DataFrame:
    """The summaries to score: all, or those of ``output_ids`` (each must exist)."""
    if not output_ids:
        return outputs
    missing = set(output_ids) - set(outputs["output_id"])
    if missing:
        raise DembiasError(f"debate {debate_id}: no summary output {sorted(missing)}")
    return outputs[outputs["output_id"].isin(set(output_ids))]


def _headline_line(debate_id: str, score: OutputScore) -> str:
    """One progress line per scored summary: its headline numbers and quality flags."""
    head = score.result.headline()
    flags = f" [{', '.join(score.quality.flags)}]" if score.quality.flags else ""
    return (
        f"pluralism {debate_id} {score.model}: survival {_fmt(head['survival']['value'])}, "
        f"minority topics {_fmt(head['minority_topic_survival']['value'])}, "
        f"UER topics {_fmt(head['uer_topics']['value'])}{flags}"
    )


def _model_params(ctx: DebateContext, nli: NliJudge | None) -> dict[str, Any]:
    """The models and the support calibration a pluralism run used, for its manifest."""
    return {
        "nli_model": getattr(getattr(nli, "model", None), "name_or_path", None),
        "embedder": getattr(ctx.embedder, "model_id", None),
        "support": ctx.calibration.to_manifest(),
    }


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
        info = s.link_info
        parts["outputs"].append(
            pd.DataFrame(
                [
                    {
                        "output_id": s.output_id,
                        "model": s.model,
                        "task": task.get(s.output_id, "summary"),
                        "n_units": int(head["n_units"]),
                        "n_distinct_units": int((s.units["duplicate_of"] < 0).sum()),
                        "n_content_free_units": int(s.units["content_free"].sum()),
                        "n_linked_units": int(head["n_linked_units"]),
                        "link_method": info.get("method"),
                        "link_threshold": info.get("threshold"),
                        "n_citations": info.get("n_citations"),
                        "n_supported_citations": info.get("n_supported"),
                        "citation_precision": info.get("citation_precision"),
                        "quality_flags": json.dumps(s.quality.flags),
                        "quality_notes": json.dumps(s.quality.notes, ensure_ascii=False),
                    }
                ]
            )
        )
        r = s.result
        for name, frame in (
            ("scores", r.scores),
            ("cluster_coverage", r.cluster_coverage),
            ("units", s.units),
            ("links", s.links.drop(columns=["output_id"], errors="ignore")),
            ("coverage", r.coverage),
            ("jr_violations", r.jr_violations),
            ("group_coverage", r.group_coverage),
            ("opinion_groups", r.opinion_groups),
            ("representatives", r.representatives),
            ("common_ground", r.common_ground),
        ):
            if len(frame):
                parts[name].append(frame.assign(output_id=s.output_id))
    return {name: to_arrow(parts[name], SCHEMAS[name]) for name in SCHEMAS}


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
    from dembias.ingest.outputs import store_outputs
    from dembias.opinion_map.embed import embed_texts
    from dembias.pluralism.baselines import baseline_outputs
    from dembias.workspace.corpus import corpus_writer

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
    """Demo build stage: add the baselines, score every summary (Gemini report and baselines) and run the
    control battery (``dembias validate``) per debate."""
    ids = [entry["debate_id"] for entry in manifest.get("polis", [])]
    for debate_id in ids:
        if latest_run(ws, stage=MAPPING_STAGE, debate_id=debate_id) is None:
            progress(f"pluralism {debate_id}: no mapping run, skipped")
            continue
        add_baselines(ws, debate_id, progress=progress)
        score_debate(ws, debate_id, progress=progress)
    from dembias.pluralism.validate import validate_debate

    for debate_id in ids:
        if latest_run(ws, stage=MAPPING_STAGE, debate_id=debate_id) is not None:
            validate_debate(ws, debate_id, progress=progress)
