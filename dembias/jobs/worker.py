"""The rescoring worker: claims queued jobs, runs each through its stage runner, records the outcome.

It holds no model itself: :mod:`dembias.jobs.runners` calls the stage functions the CLI calls.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from dembias.jobs.context import JobContext
from dembias.jobs.files import (
    Job,
    JobCancelled,
    JobProgress,
    _dir,
    _job_path,
    _load_job,
    _now,
    _read_json,
    jobs_root,
    write_json_atomic,
)
from dembias.jobs.liveness import recover_dead_jobs
from dembias.jobs.runners import RUNNERS, EmbedderFactory
from dembias.models.devices import detect_device
from dembias.workspace.folder import Workspace
from dembias.workspace.stage import Progress


def claim_next(ws: Workspace) -> Job | None:
    """Claim the oldest queued job by renaming it into ``running/`` (atomic), or None when none is queued."""
    folder = _dir(ws, "queued")
    candidates = []
    for path in folder.glob("*.json"):
        queued = _load_job(ws, path, "queued")
        if queued is not None:
            candidates.append((queued.created_at, path.stem))
    for _created, job_id in sorted(candidates):
        target = _job_path(ws, "running", job_id)
        try:
            os.rename(_job_path(ws, "queued", job_id), target)
        except FileNotFoundError:
            continue  # another worker (or a cancel) took it
        data = _read_json(target) or {}
        job = Job.from_dict(data)
        job.status, job.started_at, job.pid, job.host = "running", _now(), os.getpid(), socket.gethostname()
        job.attempts += 1
        write_json_atomic(target, job.to_dict())
        return job
    return None


def write_heartbeat(ws: Workspace, *, device: Mapping[str, Any], current_job: str | None = None) -> Path:
    """Record that this worker is alive, the device it uses and the job it runs."""
    path = _dir(ws, "workers") / f"{socket.gethostname()}-{os.getpid()}.json"
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "updated_at": _now(),
        "device": dict(device),
        "current_job": current_job,
    }
    write_json_atomic(path, record)
    return path


def _finish(ws: Workspace, job: Job, state: str) -> Job:
    job.status, job.finished_at = state, _now()
    write_json_atomic(_job_path(ws, state, job.job_id), job.to_dict())
    _job_path(ws, "running", job.job_id).unlink(missing_ok=True)
    (jobs_root(ws) / "cancel" / job.job_id).unlink(missing_ok=True)
    return job


def run_claimed(
    ws: Workspace,
    job: Job,
    *,
    embedder_factory: EmbedderFactory | None = None,
    on_progress: Callable[[JobProgress], None] | None = None,
    say: Progress | None = None,
) -> Job:
    """Run a claimed job to its end and move it to done, failed or cancelled."""
    ctx = JobContext(ws, job, on_progress=on_progress)
    say = say or (lambda _m: None)
    say(f"{job.job_id}: {job.stage} {job.debate_id} model={job.model or 'default'} (attempt {job.attempts})")
    try:
        ctx.check_cancel()
        job.result = RUNNERS[job.stage](ctx, embedder_factory=embedder_factory)
    except JobCancelled:
        job.error = "cancelled"
        say(f"{job.job_id}: cancelled")
        return _finish(ws, job, "cancelled")
    except Exception as exc:
        job.error = f"{type(exc).__name__}: {exc}"
        (_dir(ws, "logs") / f"{job.job_id}.log").write_text(traceback.format_exc(), encoding="utf-8")
        say(f"{job.job_id}: failed: {job.error}")
        return _finish(ws, job, "failed")
    except BaseException:  # Ctrl-C or SIGTERM: record it, then stop the worker
        job.error = "worker interrupted"
        _finish(ws, job, "failed")
        raise
    ctx.report(ctx.done if ctx.total is None else ctx.total, ctx.total, message="done", force=True)
    say(f"{job.job_id}: done -> {', '.join(job.result.get('run_ids', [])) or 'no new run'}")
    return _finish(ws, job, "done")


def run_worker(
    ws: Workspace,
    *,
    once: bool = False,
    drain: bool = False,
    poll: float = 1.0,
    device: str | None = None,
    embedder_factory: EmbedderFactory | None = None,
    say: Progress | None = None,
) -> list[Job]:
    """Run queued jobs one at a time: ``once`` runs at most one, ``drain`` stops when the queue is empty,
    else poll forever. Running jobs of dead workers are marked failed first."""
    say = say or (lambda _m: None)
    for job_id in recover_dead_jobs(ws):
        say(f"{job_id}: its worker died; marked failed (resume it with `dembias rescore --resume {job_id}`)")
    info = detect_device(device)
    if info.warning:
        say(f"warning: {info.warning}")
    heartbeat = write_heartbeat(ws, device=info.to_dict())
    processed: list[Job] = []
    last_beat = time.monotonic()
    try:
        while True:
            job = claim_next(ws)
            if job is not None:
                write_heartbeat(ws, device=detect_device(device).to_dict(), current_job=job.job_id)
                processed.append(run_claimed(ws, job, embedder_factory=embedder_factory, say=say))
                write_heartbeat(ws, device=detect_device(device).to_dict())
                if once:
                    break
                continue
            if once or drain:
                break
            if time.monotonic() - last_beat > 5:
                write_heartbeat(ws, device=detect_device(device).to_dict())
                last_beat = time.monotonic()
            time.sleep(poll)
    finally:
        heartbeat.unlink(missing_ok=True)
    return processed
