"""The job queue: what the dashboard and the CLI import (files only, never models).

Rescoring jobs are requested by the dashboard or the CLI and executed by a separate worker process
(:mod:`dembias.jobs.worker`), whose runners (:mod:`dembias.jobs.runners`) call the same stage functions
as the CLI.

DuckDB lets one process hold a file read-write and locks every other process out, so jobs never go
through a database. A job is a small JSON file under ``<workspace>/jobs/``, and its state is the folder
that holds it::

    jobs/queued/<id>.json      requested (written atomically: temporary name, then rename)
    jobs/running/<id>.json     claimed by a worker (an atomic rename: two workers never run one job)
    jobs/done/<id>.json        finished, with the ids of the runs it wrote
    jobs/failed/<id>.json      failed, with the error (a worker that died is found by the next worker)
    jobs/cancelled/<id>.json   cancelled
    jobs/cancel/<id>           a cancel request, checked by the worker between batches
    jobs/progress/<id>.json    items done/total, rate, ETA, updated_at, pid (rewritten atomically)
    jobs/workers/<host>-<pid>.json   worker heartbeats with the device they use
    jobs/logs/<id>.log         the traceback of a failed job

Lifecycle: queued -> running -> done | failed | cancelled; a failed or cancelled job can be resumed
(back to queued, same id; an embedding job finds the blocks it already stored in the embedding cache
and embeds only what is left).
Each job writes its result as an ordinary run through :func:`dembias.store.write_run` (atomic), whose
manifest records ``job_id`` and ``rescores``: the debate's previous run of the same stage, so a view can
compare the two.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import socket
import time
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dembias.errors import DembiasError
from dembias.store import Workspace, private_dir

JOBS_DIR = "jobs"
STATES = ("queued", "running", "done", "failed", "cancelled")
TERMINAL = ("done", "failed", "cancelled")
STAGES = ("embed", "map", "pluralism", "fidelity", "generate")
STAGE_ALIASES = {
    "embedding": "embed",
    "mapping": "map",
    "align": "pluralism",
    "score-pluralism": "pluralism",
    "score-fidelity": "fidelity",
}
#: The run stage each job stage writes (generate stores outputs in the corpus instead).
RUN_STAGES = {"embed": "embedding", "map": "mapping", "pluralism": "pluralism", "fidelity": "fidelity"}
ENGINES = ("local", "ray")
_JOB_ID = re.compile(r"^job-[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$")
_DEVICE = re.compile(r"^(?:auto|cpu|mps|cuda|cuda:[0-9]{1,3})$")
#: Where a job file that cannot be a job (not a JSON object, no or a wrong job id, an unknown stage ...)
#: is moved, so that one bad file never stops the worker, ``rescore --list`` or the Rescoring page.
QUARANTINE_DIR = "quarantine"
GENERATE_TASKS = ("summary", "reformulation", "translation")  # dembias.generate.TASKS (not imported: torch)
log = logging.getLogger(__name__)
PROGRESS_INTERVAL = 0.5
STALE_CLAIM_SECONDS = 60.0


class JobCancelled(Exception):
    """Raised between batches when a job's cancel marker is found."""


@dataclass
class Job:
    """A rescoring request and what became of it."""

    job_id: str
    stage: str
    debate_id: str
    model: str | None = None
    device: str | None = None
    batch_size: int | None = None
    engine: str = "local"
    params: dict[str, Any] = field(default_factory=dict)
    status: str = "queued"
    created_at: str = ""
    started_at: str | None = None
    finished_at: str | None = None
    pid: int | None = None
    host: str | None = None
    attempts: int = 0
    error: str | None = None
    result: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        """Build from a job file's record (unknown keys are ignored)."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(frozen=True)
class JobProgress:
    """How far a running job is."""

    job_id: str
    done: int
    total: int | None
    rate: float | None
    eta_s: float | None
    updated_at: str
    pid: int
    message: str | None = None
    batch_size: int | None = None

    @property
    def fraction(self) -> float | None:
        return None if not self.total else min(1.0, self.done / self.total)


# --------------------------------------------------------------------------------------------------
# files


def jobs_root(ws: Workspace) -> Path:
    """The jobs folder of a workspace."""
    return ws.root / JOBS_DIR


def _dir(ws: Workspace, name: str) -> Path:
    return private_dir(jobs_root(ws) / name)


def _check_id(job_id: str) -> str:
    if not _JOB_ID.match(job_id):
        raise DembiasError(f"not a job id: {job_id!r}")
    return job_id


def _job_path(ws: Workspace, state: str, job_id: str) -> Path:
    return _dir(ws, state) / f"{_check_id(job_id)}.json"


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None).isoformat(timespec="seconds")


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON to a temporary file in the same folder, fsync it, and rename it over ``path``."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(obj, handle, sort_keys=True, default=str)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def job_problem(data: Any, path: Path) -> str | None:
    """Why the record ``data`` read from ``path`` cannot be a job (None when it can)."""
    if not isinstance(data, dict):
        return f"not a JSON object but {type(data).__name__}"
    job_id = data.get("job_id")
    if not isinstance(job_id, str) or not _JOB_ID.match(job_id) or job_id != path.stem:
        return f"job_id {job_id!r} is missing, malformed or not the file's name"
    checks = {
        "stage": data.get("stage") in STAGES,
        "debate_id": isinstance(data.get("debate_id"), str) and bool(data.get("debate_id")),
        "model": data.get("model") is None or isinstance(data.get("model"), str),
        "device": data.get("device") is None
        or (isinstance(data.get("device"), str) and bool(_DEVICE.match(data["device"]))),
        "batch_size": data.get("batch_size") is None or (_whole(data.get("batch_size")) and data["batch_size"] >= 1),
        "engine": data.get("engine", "local") in ENGINES,
        "params": isinstance(data.get("params", {}), dict),
        "result": isinstance(data.get("result", {}), dict),
        "attempts": _whole(data.get("attempts", 0)),
        "pid": data.get("pid") is None or _whole(data.get("pid")),
        "created_at": isinstance(data.get("created_at", ""), str),
    }
    wrong = [name for name, ok in checks.items() if not ok]
    return f"bad {', '.join(wrong)}" if wrong else None


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def quarantine(ws: Workspace, path: Path, problem: str) -> Path | None:
    """Move a malformed job file to ``jobs/quarantine/`` (with a ``.why`` note) and log a warning."""
    target_dir = _dir(ws, QUARANTINE_DIR)
    target = target_dir / f"{path.parent.name}-{path.name}"
    try:
        os.replace(path, target)
    except FileNotFoundError:  # another process moved it meanwhile
        return None
    target.with_name(target.name + ".why").write_text(problem + "\n", encoding="utf-8")
    log.warning("%s: %s; moved to %s", path, problem, target)
    return target


def quarantined(ws: Workspace) -> list[tuple[str, str]]:
    """Job files moved to quarantine: (file name, why)."""
    folder = jobs_root(ws) / QUARANTINE_DIR
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        why = path.with_name(path.name + ".why")
        found.append((path.name, why.read_text(encoding="utf-8").strip() if why.exists() else "malformed"))
    return found


def _load_job(ws: Workspace, path: Path, state: str) -> Job | None:
    """The job in ``path`` (a state folder's file), or None: gone meanwhile, or malformed (quarantined)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        quarantine(ws, path, f"unreadable: {exc}")
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        quarantine(ws, path, f"not valid JSON: {exc}")
        return None
    problem = job_problem(data, path)
    if problem is not None:
        quarantine(ws, path, problem)
        return None
    data["status"] = state
    return Job.from_dict(data)


def normalise_stage(stage: str) -> str:
    """The canonical stage name (``align`` and ``score-pluralism`` are ``pluralism``, and so on)."""
    name = STAGE_ALIASES.get(stage.strip().lower(), stage.strip().lower())
    if name not in STAGES:
        raise DembiasError(f"unknown stage {stage!r}: use one of {', '.join(STAGES)} (or align)")
    return name


def new_job_id() -> str:
    """A fresh job id such as ``job-20261128T120000-1a2b3c4d``."""
    return f"job-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


# --------------------------------------------------------------------------------------------------
# requests (what the dashboard and the CLI do: files only, never models)


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
    check_request(ws, stage=normalise_stage(stage), debate_id=debate_id, device=device, params=params or {})
    job = Job(
        job_id=new_job_id(),
        stage=normalise_stage(stage),
        debate_id=debate_id,
        model=model or None,
        device=None if device in (None, "", "auto") else device,
        batch_size=batch_size,
        engine=engine,
        params=dict(params or {}),
        created_at=_now(),
    )
    write_json_atomic(_job_path(ws, "queued", job.job_id), job.to_dict())
    return job


# ---- request validation: what a job request may hold (the one place; the dashboard and the CLI go through it)


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
    from dembias.store import open_corpus  # light; keeps this module's imports as they were

    con = open_corpus(ws)
    try:
        known = [r[0] for r in con.execute("SELECT debate_id FROM debates ORDER BY debate_id").fetchall()]
    finally:
        con.close()
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


# --------------------------------------------------------------------------------------------------
# workers: claiming, heartbeats, dead workers


def _pid_alive(pid: int) -> bool:
    if pid <= 0:  # os.kill(0, ...) would signal our own process group
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child that nobody reaped yet is a zombie: dead for our purposes
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def recover_dead_jobs(ws: Workspace) -> list[str]:
    """Mark ``failed`` ("worker died") every running job of this host whose worker process is gone
    (and drop the heartbeats of dead workers of this host)."""
    host = socket.gethostname()
    beats = jobs_root(ws) / "workers"
    for path in beats.glob(f"{host}-*.json") if beats.is_dir() else []:
        data = _read_json(path)
        if not isinstance(data, dict) or not _whole(data.get("pid")):
            path.unlink(missing_ok=True)  # a malformed heartbeat: no worker can be found through it
        elif data.get("host") == host and not _pid_alive(data["pid"]):
            path.unlink(missing_ok=True)
    folder = jobs_root(ws) / "running"
    if not folder.is_dir():
        return []
    recovered = []
    for path in sorted(folder.glob("*.json")):
        loaded = _load_job(ws, path, "running")
        if loaded is None:
            continue
        data = loaded.to_dict()
        pid, job_host = data.get("pid"), data.get("host")
        if pid is None:
            try:
                stale = time.time() - path.stat().st_mtime > STALE_CLAIM_SECONDS
            except FileNotFoundError:
                continue
            if not stale:
                continue
        elif job_host != host or _pid_alive(int(pid)):
            continue
        job = Job.from_dict(data)
        job.status, job.finished_at = "failed", _now()
        job.error = f"worker died (pid {pid} on {job_host})" if pid else "worker died while claiming the job"
        write_json_atomic(_job_path(ws, "failed", job.job_id), job.to_dict())
        path.unlink(missing_ok=True)
        recovered.append(job.job_id)
    return recovered


def live_workers(ws: Workspace, *, max_age_s: float = 30.0) -> list[dict[str, Any]]:
    """Heartbeats of workers that are alive (same host: pid alive; else updated in the last ``max_age_s``)."""
    folder = jobs_root(ws) / "workers"
    if not folder.is_dir():
        return []
    host, now = socket.gethostname(), dt.datetime.now(dt.UTC).replace(tzinfo=None)
    alive = []
    for path in folder.glob("*.json"):
        data = _read_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("device"), dict):
            continue  # a malformed heartbeat is no worker
        if data.get("host") == host:
            ok = _whole(data.get("pid")) and _pid_alive(data["pid"])
        else:
            try:
                age = (now - dt.datetime.fromisoformat(str(data.get("updated_at")))).total_seconds()
            except ValueError:
                continue
            ok = age <= max_age_s
        if ok:
            alive.append(data)
    return alive
