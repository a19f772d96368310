"""``dembias rescore``, ``dembias worker`` and ``dembias models``: rescoring jobs on demand."""

from __future__ import annotations

import json
import signal
import sys
from dataclasses import asdict
from typing import Annotated, Any

import typer

from dembias import jobs
from dembias.cli import WorkspaceOption, app, emit_json, progress, workspace_from
from dembias.errors import DembiasError
from dembias.workspace.folder import Workspace


def _parse_params(values: list[str] | None) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for item in values or []:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise DembiasError(f"--param {item!r}: expected KEY=VALUE")
        try:
            params[key] = json.loads(raw)
        except ValueError:
            params[key] = raw
    return params


def _job_line(job: jobs.Job, ws: Any) -> str:
    line = f"{job.job_id}  {job.status:<9}  {job.stage:<9} {job.debate_id}  model={job.model or 'default'}"
    prog = jobs.read_progress(ws, job.job_id)
    if prog is not None and job.status == "running":
        total = "?" if prog.total is None else prog.total
        rate = f", {prog.rate:.1f}/s" if prog.rate else ""
        eta = f", ETA {prog.eta_s:.0f}s" if prog.eta_s is not None else ""
        line += f"  [{prog.done}/{total}{rate}{eta}]"
    if job.error:
        line += f"  error: {job.error}"
    if job.result.get("run_ids"):
        line += f"  -> {', '.join(job.result['run_ids'])}"
    return line


@app.command("rescore")
def rescore(
    workspace: WorkspaceOption = None,
    stage: Annotated[
        str | None, typer.Option("--stage", help="embed, map, pluralism (align), fidelity or generate.")
    ] = None,
    debate: Annotated[str | None, typer.Option("--debate", help="The debate to rescore.")] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="embed/map: embedder (model id, path, use-multilingual); pluralism/fidelity: NLI model; "
            "generate: causal LM. See `dembias models`.",
        ),
    ] = None,
    device: Annotated[str | None, typer.Option("--device", help="auto (default), cuda, cuda:N, mps, cpu.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", min=1, help="Halves on out-of-memory.")] = None,
    engine: Annotated[str, typer.Option("--engine", help="local, or ray (embedding on a Ray cluster).")] = "local",
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Extra KEY=VALUE (JSON values), e.g. task=summary, limit=20, embedder=..."),
    ] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="Queue a failed or cancelled job again.")] = None,
    cancel: Annotated[str | None, typer.Option("--cancel", help="Cancel a queued or running job.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="List the jobs and their progress.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Request a rescoring job (run by `dembias worker`), or resume, cancel or list jobs."""
    ws = workspace_from(workspace)
    if list_:
        _list_jobs(ws, json_out=json_out)
        return
    if resume:
        job = jobs.resume_job(ws, resume)
        progress(f"{job.job_id} queued again (attempt {job.attempts + 1}); a `dembias worker` will pick it up")
    elif cancel:
        job = jobs.cancel_job(ws, cancel)
        progress(f"{job.job_id}: {'cancelled' if job.status == 'cancelled' else 'cancel requested'}")
    else:
        if not stage or not debate:
            raise DembiasError("give --stage and --debate (or --resume JOB, --cancel JOB, --list)")
        job = _submit(
            ws,
            stage=stage,
            debate_id=debate,
            model=model,
            device=device,
            batch_size=batch_size,
            engine=engine,
            params=_parse_params(param),
        )
    if json_out:
        emit_json(job.to_dict())
    else:
        typer.echo(job.job_id)


def _list_jobs(ws: Workspace, *, json_out: bool) -> None:
    """``dembias rescore --list``: every job (with its progress), then a warning per quarantined job file."""
    listed = jobs.list_jobs(ws)
    if json_out:
        emit_json(
            [
                {**j.to_dict(), "progress": (asdict(p) if (p := jobs.read_progress(ws, j.job_id)) else None)}
                for j in listed
            ]
        )
    else:
        for job in listed:
            typer.echo(_job_line(job, ws))
        if not listed:
            progress("no jobs")
    for name, why in jobs.quarantined(ws):
        progress(f"warning: malformed job file moved to {jobs.JOBS_DIR}/{jobs.QUARANTINE_DIR}/{name}: {why}")


def _submit(ws: Workspace, **request: Any) -> jobs.Job:
    """Queue a new job (``jobs.submit_job``'s keyword arguments) and say how it will run."""
    job = jobs.submit_job(ws, **request)
    progress(f"{job.job_id} queued: {job.stage} {job.debate_id}; run `dembias worker` to execute it")
    if not jobs.live_workers(ws):
        progress("note: no worker is running on this workspace")
    return job


def _stop_on_sigterm(_signum: int, _frame: Any) -> None:
    sys.exit(143)


@app.command("worker")
def worker(
    workspace: WorkspaceOption = None,
    once: Annotated[bool, typer.Option("--once", help="Run at most one job, then exit.")] = False,
    drain: Annotated[bool, typer.Option("--drain", help="Run queued jobs until none is left, then exit.")] = False,
    poll: Annotated[float, typer.Option("--poll", min=0.01, help="Seconds between looks at the queue.")] = 1.0,
    device: Annotated[str | None, typer.Option("--device", help="Device reported in the heartbeat.")] = None,
) -> None:
    """Execute queued rescoring jobs, one at a time (never inside the dashboard)."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    ws = workspace_from(workspace)
    if not ws.exists():
        raise DembiasError(f"no workspace at {ws.root}")
    done = jobs.run_worker(ws, once=once, drain=drain, poll=poll, device=device, say=progress)
    if once or drain:
        progress(f"worker: {len(done)} job(s) run")


@app.command("models")
def models(
    stage: Annotated[str | None, typer.Option("--stage", help="Only the models this stage can use.")] = None,
    device: Annotated[str | None, typer.Option("--device", help="The device to describe.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Models available locally (packaged defaults, Hugging Face cache) and the device jobs would use."""
    from dembias.models.catalog import available_models, models_for_stage
    from dembias.models.devices import detect_device

    listed = models_for_stage(jobs.normalise_stage(stage)) if stage else available_models()
    info = detect_device(device)
    if json_out:
        emit_json({"device": info.to_dict(), "models": [m.to_dict() for m in listed]})
        return
    typer.echo(f"device: {info.describe()}")
    if info.warning:
        progress(f"warning: {info.warning}")
    for m in listed:
        typer.echo(f"{m.role:<10} {m.source:<9} {m.spec}  {m.note}")
