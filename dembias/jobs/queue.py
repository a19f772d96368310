"""The job queue: what the dashboard and the CLI import (files only, never models).

Requests (:func:`submit_job`, validated by :func:`check_request`), listing, cancel, resume and progress.
The job files and their states are described in :mod:`dembias.jobs.files`; the worker that runs jobs is
:mod:`dembias.jobs.worker`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from dembias.errors import DembiasError
from dembias.jobs.files import (
    _DEVICE,
    ENGINES,
    GENERATE_TASKS,
    TERMINAL,
    Job,
    JobProgress,
    _check_id,
    _dir,
    _job_path,
    _load_job,
    _now,
    _read_json,
    _whole,
    jobs_root,
    new_job_id,
    normalise_stage,
    write_json_atomic,
)
from dembias.jobs.liveness import recover_dead_jobs
from dembias.workspace.folder import Workspace


def submit_job(
    ws: Workspace,
    *,
    stage: str,
    debate_id: str,
    model: str | None = None,
    device: str | None = None,
    batch_size: int | None = None,
    engine: str = "local",
    params: Mapping[str, Any] | None = None,
) -> Job:
    """Queue a job: write ``jobs/queued/<id>.json`` atomically and return the job."""
    if engine not in ENGINES:
        raise DembiasError(f"unknown engine {engine!r}: use {' or '.join(ENGINES)}")
    if batch_size is not None and batch_size < 1:
        raise DembiasError("the batch size must be at least 1")
    if not debate_id:
        raise DembiasError("a job needs a debate")
    check_model(model)
    check_request(ws, stage=normalise_stage(stage), debate_id=debate_id, device=device, params=params or {})
    job = Job(
        job_id=new_job_id(),
        stage=normalise_stage(stage),
        debate_id=debate_id,
        model=model.strip() if model else None,
        device=None if device in (None, "", "auto") else device,
        batch_size=batch_size,
        engine=engine,
        params=dict(params or {}),
        created_at=_now(),
    )
    write_json_atomic(_job_path(ws, "queued", job.job_id), job.to_dict())
    return job


# ---- request validation: what a job request may hold (the one place; the dashboard and the CLI go through it)


def check_model(model: str | None) -> None:
    """Refuse a model named by an empty or blank string: None asks for the stage's default model, but an empty
    id or path (an "other model" field left blank) would silently run the default instead of what was meant."""
    if model is not None and not str(model).strip():
        raise DembiasError(
            "the model id or local path is empty: type one, or choose a listed model (None asks for the default)"
        )


def check_request(ws: Workspace, *, stage: str, debate_id: str, device: str | None, params: Mapping[str, Any]) -> None:
    """Refuse at request time what the worker would only fail on: an unknown debate, device or task."""
    if device not in (None, "") and not _DEVICE.match(str(device).strip().lower()):
        raise DembiasError(f"unknown device {device!r}: use auto, cuda, cuda:N, mps or cpu")
    if stage == "generate":
        task = params.get("task", "summary")
        if task not in GENERATE_TASKS:
            raise DembiasError(f"unknown task {task!r}: use {', '.join(GENERATE_TASKS)}")
        if task == "translation" and not params.get("target_language"):
            raise DembiasError("a translation job needs --param target_language=<code>")
        limit = params.get("limit")
        if limit is not None and not (_whole(limit) and limit >= 1):
            raise DembiasError(f"limit {limit!r}: a whole number of contributions >= 1")
    from dembias.workspace.debates import debate_ids  # light; keeps this module's imports as they were

    known = debate_ids(ws)
    if debate_id not in known:
        raise DembiasError(f"unknown debate {debate_id!r}; the workspace has {', '.join(known) or 'none'}")


def get_job(ws: Workspace, job_id: str) -> Job:
    """The job's latest record (a terminal state wins over ``running`` while a move is under way)."""
    _check_id(job_id)
    for state in (*TERMINAL, "running", "queued"):
        job = _load_job(ws, jobs_root(ws) / state / f"{job_id}.json", state)
        if job is not None:
            return job
    raise DembiasError(f"no job {job_id!r} in {jobs_root(ws)}")


def list_jobs(ws: Workspace) -> list[Job]:
    """Every job of the workspace, newest first.

    Running jobs whose worker died on this host are marked failed first (they showed "running" with an
    ETA forever); a malformed job file is quarantined (:func:`quarantine`) instead of stopping the listing.
    """
    recover_dead_jobs(ws)
    root = jobs_root(ws)
    found: dict[str, Job] = {}
    for state in ("queued", "running", *TERMINAL):  # later states overwrite earlier ones
        folder = root / state
        if not folder.is_dir():
            continue
        for path in folder.glob("*.json"):
            job = _load_job(ws, path, state)
            if job is not None:
                found[path.stem] = job
    return sorted(found.values(), key=lambda j: (j.created_at, j.job_id), reverse=True)


def cancel_requested(ws: Workspace, job_id: str) -> bool:
    """Whether a cancel marker exists for the job."""
    return (jobs_root(ws) / "cancel" / _check_id(job_id)).exists()


def cancel_job(ws: Workspace, job_id: str) -> Job:
    """Cancel a job: a queued one moves to ``cancelled`` at once; a running one gets a cancel marker
    that its worker honours between batches."""
    job = get_job(ws, job_id)
    if job.status in TERMINAL:
        raise DembiasError(f"job {job_id} is already {job.status}")
    (_dir(ws, "cancel") / job_id).touch()
    if job.status == "queued":
        target = _job_path(ws, "cancelled", job_id)
        try:
            os.rename(_job_path(ws, "queued", job_id), target)
        except FileNotFoundError:  # a worker claimed it meanwhile: the marker stops it
            return get_job(ws, job_id)
        job.status, job.finished_at, job.error = "cancelled", _now(), "cancelled before it started"
        write_json_atomic(target, job.to_dict())
        (jobs_root(ws) / "cancel" / job_id).unlink(missing_ok=True)
    return get_job(ws, job_id)


def resume_job(ws: Workspace, job_id: str) -> Job:
    """Queue a failed or cancelled job again under the same id (its checkpoint is kept)."""
    recover_dead_jobs(ws)
    job = get_job(ws, job_id)
    if job.status not in ("failed", "cancelled"):
        raise DembiasError(f"job {job_id} is {job.status}; only failed or cancelled jobs can be resumed")
    previous = job.status
    (jobs_root(ws) / "cancel" / job_id).unlink(missing_ok=True)
    job.params = {**job.params, "resumed_from": previous}
    job.status, job.error, job.finished_at, job.pid = "queued", None, None, None
    write_json_atomic(_job_path(ws, "queued", job_id), job.to_dict())
    _job_path(ws, previous, job_id).unlink(missing_ok=True)
    return job


def read_progress(ws: Workspace, job_id: str) -> JobProgress | None:
    """The job's last progress record, if it wrote one."""
    data = _read_json(jobs_root(ws) / "progress" / f"{_check_id(job_id)}.json")
    if not isinstance(data, dict):
        return None
    numbers = {
        "done": (int,),
        "total": (int, type(None)),
        "rate": (int, float, type(None)),
        "eta_s": (int, float, type(None)),
    }
    if any(isinstance(data.get(k), bool) or not isinstance(data.get(k), t) for k, t in numbers.items()):
        return None  # a malformed progress file: no progress shown
    try:
        return JobProgress(**{k: v for k, v in data.items() if k in JobProgress.__dataclass_fields__})
    except TypeError:
        return None
