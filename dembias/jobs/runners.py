"""Stage runners: each runs one job by calling the stage function the CLI calls, with the job's options.

No stage is implemented here a second time: an embedding job calls :func:`dembias.opinion_map.embed.embed_debate`
(its blocks land as cached runs, so a cancelled or killed job resumes from them), a map job
:func:`dembias.opinion_map.run` with the job's :class:`~dembias.opinion_map.params.MapParams`, and so on. A
runner adds what a job needs around the call: the device, the job's manifest record, progress, cancel
checks between batches, and out-of-memory halving of the batch size.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from dembias.errors import DembiasError
from dembias.jobs.context import JobContext
from dembias.jobs.files import RUN_STAGES, Job
from dembias.models.devices import detect_device, with_oom_retry
from dembias.models.embedders import DEFAULT_BATCH_SIZE, Embedder, get_embedder, parse_embedder_spec
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import latest_run

EmbedderFactory = Callable[[str, str | None, int], Embedder]
#: Texts per embedding run written by an embedding job (the unit a cancelled or killed job resumes from).
JOB_CHECKPOINT_EVERY = 10_000


def default_embedder_factory(spec: str, device: str | None, batch_size: int) -> Embedder:
    """Load an embedder from a job's model field (a spec, or a bare sentence-transformers id or path)."""
    return get_embedder(spec, device=device, batch_size=batch_size, bare_is_model=True)


def _job_device(job: Job) -> str:
    return detect_device(job.device).device


def _previous_run(ws: Workspace, stage: str, debate_id: str) -> str | None:
    run = latest_run(ws, stage=RUN_STAGES[stage], debate_id=debate_id) if stage in RUN_STAGES else None
    return run.run_id if run else None


def job_manifest(job: Job, rescores: str | None) -> dict[str, Any]:
    """What a job adds to the manifest of each run it writes."""
    return {
        "job_id": job.job_id,
        "rescores": rescores,
        "job": {
            "stage": job.stage,
            "model": job.model,
            "device": job.device,
            "batch_size": job.batch_size,
            "engine": job.engine,
            "attempts": job.attempts,
        },
    }


def _load_embedder(
    job: Job, spec: str | None, factory: EmbedderFactory | None, batch_size: int, *, ray: bool = False
) -> Embedder:
    """The embedder a job names (its model field or its ``embedder`` parameter), parsed by the one parser;
    through Ray Data when ``ray`` (embedding jobs of engine ``ray``)."""
    parsed = str(parse_embedder_spec(spec, bare_is_model=True))
    if ray:
        from dembias.models.ray_engine import RayEmbedder

        return RayEmbedder(parsed, device=job.device, batch_size=batch_size, **job.params.get("ray", {}))
    return (factory or default_embedder_factory)(parsed, _job_device(job), batch_size)


# ---- embed


def run_embed_job(ctx: JobContext, *, embedder_factory: EmbedderFactory | None = None) -> dict[str, Any]:
    """Embed a debate's texts not yet cached for the model (:func:`dembias.opinion_map.embed.embed_debate`).

    Blocks of ``checkpoint_every`` new texts (job parameter; default :data:`JOB_CHECKPOINT_EVERY`) land
    as embedding runs as they finish, so a resumed job embeds only what no finished block holds.
    """
    from dembias.opinion_map.embed import EmbedHooks, embed_debate

    job, ws = ctx.job, ctx.ws
    batch_size = job.batch_size or DEFAULT_BATCH_SIZE
    ctx.say(f"loading embedder {job.model or 'default'} on {_job_device(job)}")
    embedder = _load_embedder(job, job.model, embedder_factory, batch_size, ray=job.engine == "ray")
    chunk = batch_size if job.engine == "local" else int(job.params.get("segment", 50_000))
    counted = {"started": False}

    def on_batch(done: int, total: int) -> None:
        if not counted["started"]:
            counted["started"] = True
            ctx.start_count(0, total)
        ctx.report(done, total)
        ctx.check_cancel()

    hooks = EmbedHooks(
        on_batch=on_batch,
        on_oom=ctx.halved,
        extra_manifest=job_manifest(job, _previous_run(ws, "embed", job.debate_id)),
    )
    contributions, result = embed_debate(
        ws,
        job.debate_id,
        embedder,
        include_rejected=bool(job.params.get("include_rejected")),
        batch_size=chunk,
        checkpoint_every=int(job.params.get("checkpoint_every", JOB_CHECKPOINT_EVERY)),
        hooks=hooks,
    )
    n_texts = contributions["text"].nunique()
    if not result.new_run_ids:
        ctx.say(f"all {n_texts} texts already embedded with {embedder.model_id}; no new run")
    return {
        "run_ids": result.new_run_ids,
        "n_texts": int(n_texts),
        "n_new": result.n_new,
        "n_cached": int(n_texts) - result.n_new,
        "batch_size": ctx.batch_size,
    }


# ---- map


def map_params_from(params: Mapping[str, Any], *, embedder_spec: str | None = None) -> Any:
    """The :class:`~dembias.opinion_map.params.MapParams` a job's parameters name (its other keys are not mapping's).

    The embedder is the job's model (``embedder_spec``, the default embedder when None), never a parameter.
    """
    from dembias.opinion_map.params import MapParams

    names = {f.name for f in dataclasses.fields(MapParams)} - {"embedder_spec"}
    chosen = {k: v for k, v in params.items() if k in names}
    if "seeds" in params and "n_seeds" not in chosen:
        chosen["n_seeds"] = params["seeds"]
    if "include_rejected" in chosen:
        chosen["include_rejected"] = bool(chosen["include_rejected"])
    if embedder_spec is not None:
        chosen["embedder_spec"] = embedder_spec
    try:
        return MapParams(**chosen)
    except TypeError as exc:
        raise DembiasError(f"map job parameters {chosen}: {exc}") from exc


def run_map_job(ctx: JobContext, *, embedder_factory: EmbedderFactory | None = None) -> dict[str, Any]:
    """Re-map a debate with the job's embedder and mapping parameters (:func:`dembias.opinion_map.run`)."""
    from dembias import opinion_map
    from dembias.models.bundle import StageModels

    job = ctx.job
    params = map_params_from(job.params, embedder_spec=str(parse_embedder_spec(job.model, bare_is_model=True)))
    embedder = _load_embedder(job, job.model, embedder_factory, job.batch_size or DEFAULT_BATCH_SIZE)
    info = opinion_map.run(
        ctx.ws,
        debate_id=job.debate_id,
        params=params,
        models=StageModels(embedder=embedder),
        progress=ctx.say,
        provenance=job_manifest(job, _previous_run(ctx.ws, "map", job.debate_id)),
    )
    return {"run_ids": [info.run_id], "n_contributions": info.details.n_contributions}


# ---- pluralism and fidelity: an NLI judge, halved on out-of-memory


def _nli(job: Job, *, batch_size: int, require_contradiction: bool) -> Any:
    if not job.model:
        return None
    from dembias.models.nli import NliJudge

    return NliJudge.load(
        job.model, device=_job_device(job), batch_size=batch_size, require_contradiction=require_contradiction
    )


def run_pluralism_job(ctx: JobContext, *, embedder_factory: EmbedderFactory | None = None) -> dict[str, Any]:
    """Re-link and re-score a debate's summaries; the job's model is an NLI model (linking by entailment)."""
    from dembias import pluralism
    from dembias.errors import NothingToDo
    from dembias.models.bundle import StageModels

    job = ctx.job
    embedder = None
    if job.params.get("embedder"):
        embedder = _load_embedder(job, job.params["embedder"], embedder_factory, DEFAULT_BATCH_SIZE)
    nli = _nli(job, batch_size=job.batch_size or 32, require_contradiction=False)
    params = pluralism.PluralismParams(nli_model=job.model or None, embedder=job.params.get("embedder") or None)
    extra = job_manifest(job, _previous_run(ctx.ws, "pluralism", job.debate_id))

    def attempt(size: int) -> Any:
        if nli is not None:
            nli.batch_size = size
            ctx.batch_size = size
        return pluralism.run(
            ctx.ws, debate_id=job.debate_id, params=params, models=StageModels(embedder=embedder, nli=nli),
            progress=ctx.say, provenance=extra,
        )  # fmt: skip

    try:
        info = with_oom_retry(attempt, batch_size=job.batch_size or 32, on_oom=ctx.halved)
    except NothingToDo as nothing:
        ctx.say(str(nothing))
        return {"run_ids": [], "n_outputs": 0}
    return {"run_ids": [info.run_id], "n_outputs": len(info.details)}


def run_fidelity_job(ctx: JobContext, *, embedder_factory: EmbedderFactory | None = None) -> dict[str, Any]:
    """Re-score a debate's rewrites; the job's model is an NLI model (stance by entailment)."""
    from dembias import fidelity
    from dembias.models.bundle import StageModels

    job = ctx.job
    embedder_spec = str(parse_embedder_spec(job.params.get("embedder"), bare_is_model=True))
    embedder = _load_embedder(job, job.params.get("embedder"), embedder_factory, DEFAULT_BATCH_SIZE)
    nli = _nli(job, batch_size=job.batch_size or 16, require_contradiction=True)
    params = fidelity.FidelityParams(embedder_spec=embedder_spec, nli_model=job.model or None)
    extra = job_manifest(job, _previous_run(ctx.ws, "fidelity", job.debate_id))

    def attempt(size: int) -> Any:
        if nli is not None:
            nli.batch_size = size
            ctx.batch_size = size
        return fidelity.run(
            ctx.ws,
            debate_id=job.debate_id,
            params=params,
            models=StageModels(embedder=embedder, nli=nli),
            progress=ctx.say,
            provenance=extra,
        )

    info = with_oom_retry(attempt, batch_size=job.batch_size or 16, on_oom=ctx.halved)
    return {"run_ids": [info.run_id]}


# ---- generate


def run_generate_job(ctx: JobContext, *, embedder_factory: EmbedderFactory | None = None) -> dict[str, Any]:
    """Generate outputs with a causal LM (resumable through generate's own checkpoint) and store them."""
    del embedder_factory
    from dembias.generation import GenerationParams, GenerationProgress
    from dembias.generation import run as generate
    from dembias.models.causal_lm import DEFAULT_MODEL

    job = ctx.job
    limit = job.params.get("limit")
    ctx.start_count(0, int(limit) if limit else None)

    def on_progress(message: str) -> None:
        if isinstance(message, GenerationProgress) and message.unit == "output":
            ctx.report(message.done, ctx.total)
            ctx.check_cancel()

    params = GenerationParams(
        task=job.params.get("task", "summary"),
        model=job.model or DEFAULT_MODEL,
        target_language=job.params.get("target_language"),
        limit=limit,
        batch_size=job.batch_size or 8,
        device=_job_device(job),
    )
    info = generate(
        ctx.ws, debate_id=job.debate_id, params=params, progress=on_progress, provenance=job_manifest(job, None)
    )
    return {"run_ids": [], **info.details.to_dict()}


RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "embed": run_embed_job,
    "map": run_map_job,
    "pluralism": run_pluralism_job,
    "fidelity": run_fidelity_job,
    "generate": run_generate_job,
}
