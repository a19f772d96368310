"""Scoring a debate's summaries: prepare the debate once, then screen, link and score each summary.

Every output, real or a control of ``dembias validate``, goes through the same path: the debate is
prepared once (:func:`prepare_debate`: contributions embedded, the support test calibrated against
unrelated texts), then each output is screened, linked and scored by :func:`score_output`. The stage's
entry point (:func:`dembias.pluralism.stage.run`) writes the results as a ``pluralism`` run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dembias.models.embedders import normalise_rows
from dembias.models.nli import NliJudge
from dembias.pluralism.align import empty_links, link_output
from dembias.pluralism.inputs import DebateInputs, embedder_for_mapping, load_debate_inputs
from dembias.pluralism.metrics import PluralismResult, score_pluralism
from dembias.pluralism.params import PluralismParams
from dembias.pluralism.quality import Quality, assess_output
from dembias.pluralism.score_json import output_json
from dembias.pluralism.support import SupportCalibration, calibrate_support, null_sentences_for, screen_units
from dembias.workspace.debates import debate_record
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import read_run_tables


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
    title, language = _title_and_language(ws, debate_id)
    null_set = null_sentences_for(language)
    null = embed_texts(ws, null_set["text"].tolist(), embedder)
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
        participant_groups=_participant_groups(ws, inputs),
        run_inputs=list(dict.fromkeys([inputs.mapping_run.run_id, *emb_c.input_run_ids, *null.input_run_ids])),
    )
    ctx.title_vector = ctx.embed([ctx.title])[0]
    return ctx


def _title_and_language(ws: Workspace, debate_id: str) -> tuple[Any, str | None]:
    record = debate_record(ws, debate_id) or {}
    return record.get("title"), record.get("language")


def _participant_groups(ws: Workspace, inputs: DebateInputs) -> pd.Series | None:
    """The vote group of each grouped participant (the mapping run's ``vote_groups``), or None without votes."""
    groups = read_run_tables(ws, inputs.mapping_run.run_id, ("vote_groups",)).get("vote_groups")
    return groups["vote_group"].astype(int) if groups is not None and len(groups) else None


@dataclass
class SummaryInput:
    """One summary to score: its identity, its units with their vectors (row-aligned), and what it came with.

    ``units``: ``unit_index``, ``text`` (and ``kind``); ``citations``: ``(output_id, unit_index,
    contribution_id)`` or None; ``text``, ``prompt`` and ``expected_language`` feed the quality flags.
    """

    output_id: str
    model: str
    units: pd.DataFrame
    unit_vectors: np.ndarray
    citations: pd.DataFrame | None = None
    text: str | None = None
    prompt: str | None = None
    expected_language: str | None = None


def score_output(
    ctx: DebateContext, summary: SummaryInput, *, params: PluralismParams, nli: NliJudge | None = None
) -> OutputScore:
    """Screen, link and score one summary against a prepared debate: the one path for real outputs and controls."""
    units = summary.units.reset_index(drop=True)
    texts = units["text"].astype(str).tolist()
    screen = screen_units(
        texts,
        summary.unit_vectors,
        ctx.contribution_vectors,
        ctx.calibration,
        title=ctx.title,
        title_vector=ctx.title_vector if ctx.title_vector is not None else ctx.embed([ctx.title])[0],
    )
    links, info = link_output(
        summary.output_id,
        units,
        ctx.inputs.contributions,
        unit_vectors=summary.unit_vectors,
        contribution_vectors=ctx.contribution_vectors,
        calibration=ctx.calibration,
        screen=screen,
        citations=summary.citations,
        nli=nli,
    )
    result = _score_links(ctx, units, links, params)
    quality = assess_output(
        texts,
        screen,
        text=summary.text,
        prompt=summary.prompt,
        expected_language=summary.expected_language or ctx.language,
        n_linked_units=int(links["unit_index"].nunique()),
        n_citations=int(info.get("n_citations") or 0),
        n_supported=int(info.get("n_supported") or 0),
    )
    unit_table = _unit_table(units, screen, links, result)
    return OutputScore(ctx.inputs.debate_id, summary.output_id, summary.model, info, result, links, unit_table, quality)


def _score_links(
    ctx: DebateContext, units: pd.DataFrame, links: pd.DataFrame, params: PluralismParams
) -> PluralismResult:
    """The pure metrics (:func:`dembias.pluralism.metrics.score_pluralism`) of one summary's links."""
    inputs = ctx.inputs
    return score_pluralism(
        inputs.contributions,
        inputs.assignments,
        links,
        n_units=len(units),
        units=units,
        comment_group_votes=inputs.comment_group_votes,
        consensus=inputs.consensus,
        participant_groups=ctx.participant_groups,
        group_by=params.group_by,
        minority_share=params.minority_share,
        min_cell=params.min_cell,
        n_resamples=params.n_resamples,
        n_placebo=params.n_placebo,
        seed=params.seed,
    )


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
    params: PluralismParams,
    nli: NliJudge | None = None,
    on_scored: Callable[[OutputScore], None] | None = None,
) -> tuple[list[OutputScore], list[str]]:
    """Score each summary in ``outputs`` (rows of the debate's outputs) against a prepared debate.

    Units are embedded through the workspace cache in one call. Returns (scores, the embedding runs the
    units came from).
    """
    from dembias.opinion_map.embed import embed_texts

    inputs = ctx.inputs
    if outputs.empty:
        return [], []
    embedded = embed_texts(ws, inputs.units["text"].tolist(), ctx.embedder, debate_id=inputs.debate_id)
    scored = []
    for row in outputs.itertuples(index=False):
        mask = (inputs.units["output_id"] == row.output_id).to_numpy()
        summary = SummaryInput(
            output_id=row.output_id,
            model=row.model,
            units=inputs.units[mask],
            unit_vectors=embedded.matrix[mask],
            citations=inputs.citations,
            text=row.text,
            prompt=row.prompt,
            expected_language=row.target_language,
        )
        score = score_output(ctx, summary, params=params, nli=nli)
        scored.append(score)
        if on_scored is not None:
            on_scored(score)
    return scored, list(embedded.input_run_ids)
