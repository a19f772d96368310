"""Baseline summaries of a debate (:mod:`dembias.pluralism.baselines`) made and stored as its outputs."""

from __future__ import annotations

from typing import Any

from dembias.pluralism.inputs import embedder_for_mapping, load_debate_inputs
from dembias.workspace.folder import Workspace
from dembias.workspace.stage import Progress

DEFAULT_BUDGET = 20


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
