"""The pluralism stage's entry point: score a debate's summaries and write one ``pluralism`` run.

:func:`run` is the shape every stage has (:mod:`dembias.workspace.stage`): the CLI, the job worker,
the benchmark runner, the demo build and the notebooks call it and nothing below it.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from dembias.errors import DembiasError, NothingToDo
from dembias.models.bundle import StageModels
from dembias.pluralism.inputs import MAPPING_STAGE
from dembias.pluralism.params import PluralismParams
from dembias.pluralism.scoring import DebateContext, OutputScore, prepare_debate, score_summaries
from dembias.pluralism.tables import results_tables
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import RunInfo, RunRecord, latest_run, write_run
from dembias.workspace.stage import Progress, params_record, progress_or_silent
from dembias.workspace.staleness import stale_warning, workspace_fingerprint

PLURALISM_STAGE = "pluralism"


def run(
    ws: Workspace,
    *,
    debate_id: str,
    params: PluralismParams,
    models: StageModels | None = None,
    progress: Progress | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> RunInfo:
    """Link and score the summaries of a debate (every one, or ``params.output_ids``); write one pluralism run.

    ``models.embedder`` / ``models.nli`` are used when given, else loaded from ``params`` (no NLI model:
    links by citation or similarity). ``RunInfo.details`` is the list of :class:`OutputScore`.
    Raises :class:`~dembias.errors.NothingToDo` when the debate has no summary to score.
    """
    say = progress_or_silent(progress)
    models = models or StageModels()
    started = time.perf_counter()
    fingerprint = workspace_fingerprint(ws, debate_id)
    ctx = prepare_debate(
        ws,
        debate_id,
        embedder=models.embedder or _named_embedder(params),
        include_rejected=params.include_rejected,
        group_by=params.group_by,
        seed=params.seed,
    )
    outputs = _selected_outputs(ctx.inputs.outputs, params.output_ids, debate_id=debate_id)
    if outputs.empty:
        raise NothingToDo(f"pluralism {debate_id}: no summary to score")
    timings = {"prepare": time.perf_counter() - started}
    nli = models.nli or _named_nli(params)
    t0 = time.perf_counter()
    scored, unit_runs = score_summaries(
        ws, ctx, outputs, params=params, nli=nli, on_scored=lambda score: say(_headline_line(debate_id, score))
    )
    timings["score"] = time.perf_counter() - t0
    run_warnings = [w for w in [stale_warning(ws, ctx.inputs.mapping_run)] if w]
    for warning in run_warnings:
        say(f"warning: {warning}")
    info = write_run(
        ws,
        stage=PLURALISM_STAGE,
        debate_id=debate_id,
        tables=results_tables(scored, outputs),
        record=RunRecord(
            params=manifest_params(params, ctx, nli),
            inputs=list(dict.fromkeys([*ctx.run_inputs, *unit_runs])),
            fingerprint=fingerprint,
            timings=timings,
            warnings=run_warnings,
            extra=provenance,
        ),
    )
    say(f"pluralism {debate_id}: {len(scored)} outputs -> {info.run_id}")
    return dataclasses.replace(info, details=scored)


def manifest_params(params: PluralismParams, ctx: DebateContext, nli: Any | None) -> dict[str, Any]:
    """Every field of ``params``, with the models and the support calibration the run actually used."""
    return {
        **params_record(params),
        "nli_model": getattr(getattr(nli, "model", None), "name_or_path", None) or params.nli_model,
        "embedder": getattr(ctx.embedder, "model_id", None) or params.embedder,
        "support": ctx.calibration.to_manifest(),
    }


def _named_embedder(params: PluralismParams) -> Any | None:
    """The embedder ``params`` names, loaded; ``None`` leaves the choice to the mapping run."""
    if params.embedder is None:
        return None
    from dembias.models.embedders import get_embedder

    return get_embedder(params.embedder)


def _named_nli(params: PluralismParams) -> Any | None:
    """The NLI judge ``params`` names, loaded; ``None`` without one."""
    if params.nli_model is None:
        return None
    from dembias.models.nli import NliJudge

    return NliJudge.load(params.nli_model)


def _selected_outputs(outputs: pd.DataFrame, output_ids: tuple[str, ...] | None, *, debate_id: str) -> pd.DataFrame:
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


def _fmt(x: Any) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def demo_stage(ws: Workspace, manifest: dict[str, Any], progress: Progress) -> None:
    """Demo build stage: add the baselines, score every summary (Gemini report and baselines) and run the
    control battery (``dembias validate``) per debate."""
    from dembias.pluralism.stored_baselines import add_baselines
    from dembias.pluralism.validate import validate_debate

    ids = [entry["debate_id"] for entry in manifest.get("polis", [])]
    mapped = [d for d in ids if latest_run(ws, stage=MAPPING_STAGE, debate_id=d) is not None]
    for debate_id in ids:
        if debate_id not in mapped:
            progress(f"pluralism {debate_id}: no mapping run, skipped")
            continue
        add_baselines(ws, debate_id, progress=progress)
        try:
            run(ws, debate_id=debate_id, params=PluralismParams(), progress=progress)
        except NothingToDo as nothing:
            progress(str(nothing))
    for debate_id in mapped:
        validate_debate(ws, debate_id, progress=progress)
