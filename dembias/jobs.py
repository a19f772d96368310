"""Rescoring jobs: requested by the dashboard or the CLI, executed by a separate worker process.

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
    jobs/checkpoints/<id>/     embedding batches done so far (immutable chunk files), for resuming
    jobs/workers/<host>-<pid>.json   worker heartbeats with the device they use
    jobs/logs/<id>.log         the traceback of a failed job

Lifecycle: queued -> running -> done | failed | cancelled; a failed or cancelled job can be resumed
(back to queued, same id, so an embedding job picks up its checkpoint and embeds only what is left).
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
import shutil
import socket
import time
import traceback
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dembias.devices import adaptive_batches, detect_device, with_oom_retry
from dembias.embed import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_EMBEDDER,
    EMBEDDING_STAGE,
    Embedder,
    cached_hashes,
    get_embedder,
    load_contributions,
    normalise_rows,
    text_sha256,
    vectors_to_arrow,
)
from dembias.errors import DembiasError
from dembias.store import Workspace, latest_run, private_dir, write_run

Progress = Callable[[str], None]
EmbedderFactory = Callable[[str, str | None, int], Embedder]

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
RUN_STAGES = {"embed": EMBEDDING_STAGE, "map": "mapping", "pluralism": "pluralism", "fidelity": "fidelity"}
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


# --------------------------------------------------------------------------------------------------
# running one job


class JobContext:
    """What a stage runner gets: the job, progress reporting, cancel checks and its checkpoint folder."""

    def __init__(self, ws: Workspace, job: Job, *, on_progress: Callable[[JobProgress], None] | None = None) -> None:
        self.ws = ws
        self.job = job
        self.on_progress = on_progress
        self.started = time.perf_counter()
        self._base_done = 0
        self._last_write = 0.0
        self.batch_size = job.batch_size
        self.done, self.total, self.message = 0, None, None

    @property
    def checkpoint_dir(self) -> Path:
        return jobs_root(self.ws) / "checkpoints" / self.job.job_id

    def start_count(self, done: int, total: int | None) -> None:
        """Items already done before this attempt (from a checkpoint): they do not count in the rate."""
        self._base_done = done
        self.started = time.perf_counter()
        self.report(done, total, force=True)

    def report(self, done: int, total: int | None, *, message: str | None = None, force: bool = False) -> None:
        """Tell ``on_progress`` and write the progress file (at most every ``PROGRESS_INTERVAL`` seconds
        unless ``force``)."""
        self.done, self.total = done, total
        if message is not None:
            self.message = message
        now = time.perf_counter()
        elapsed = max(now - self.started, 1e-9)
        new = done - self._base_done
        rate = new / elapsed if new > 0 else None
        eta = (total - done) / rate if rate and total is not None else None
        progress = JobProgress(
            job_id=self.job.job_id,
            done=int(done),
            total=None if total is None else int(total),
            rate=None if rate is None else round(rate, 3),
            eta_s=None if eta is None else round(eta, 1),
            updated_at=_now(),
            pid=os.getpid(),
            message=self.message,
            batch_size=self.batch_size,
        )
        if force or now - self._last_write >= PROGRESS_INTERVAL:
            self._last_write = now
            write_json_atomic(_dir(self.ws, "progress") / f"{self.job.job_id}.json", asdict(progress))
        if self.on_progress:
            self.on_progress(progress)

    def say(self, message: str) -> None:
        """A progress message (for stages that report in words); a cancel request stops the job here."""
        self.report(self.done, self.total, message=message, force=True)
        self.check_cancel()

    def check_cancel(self) -> None:
        """Raise :class:`JobCancelled` when the job's cancel marker exists."""
        if cancel_requested(self.ws, self.job.job_id):
            raise JobCancelled(f"job {self.job.job_id} cancelled")

    def halved(self, old: int, new: int) -> None:
        """Told by the OOM-safe batching when the batch size halves."""
        self.batch_size = new
        self.say(f"out of memory at batch size {old}; retrying with {new}")


def embedder_spec(model: str | None) -> str:
    """An embedder spec from a job's model: a spec as is, else a sentence-transformers id or path."""
    if not model:
        return DEFAULT_EMBEDDER
    if model == DEFAULT_EMBEDDER or model.startswith(("fake", "sentence-transformers:")):
        return model
    return f"sentence-transformers:{model}"


def default_embedder_factory(spec: str, device: str | None, batch_size: int) -> Embedder:
    """Load an embedder from a spec (see :func:`dembias.embed.get_embedder`)."""
    return get_embedder(spec, device=device, batch_size=batch_size)


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


# ---- embed: checkpointed, resumable


class EmbeddingCheckpoint:
    """Embedding batches of one job, as immutable chunk files (``chunk-000001.npz``: hashes and vectors)."""

    def __init__(self, folder: Path, *, model_id: str, revision: str, dim: int) -> None:
        self.folder = folder
        self.key = {"model_id": model_id, "revision": revision, "dim": int(dim)}

    def load(self) -> dict[str, np.ndarray]:
        """Vectors saved so far (empty when the folder is missing or was made with another model)."""
        meta = _read_json(self.folder / "meta.json")
        if meta != self.key:
            if self.folder.exists():
                shutil.rmtree(self.folder)
            return {}
        done: dict[str, np.ndarray] = {}
        for path in sorted(self.folder.glob("chunk-*.npz")):
            with np.load(path, allow_pickle=False) as chunk:
                done.update(zip(chunk["hashes"].tolist(), chunk["vectors"], strict=True))
        return done

    def save(self, hashes: list[str], vectors: np.ndarray) -> Path:
        """Add one chunk atomically."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.folder / "meta.json").exists():
            write_json_atomic(self.folder / "meta.json", self.key)
        n = len(list(self.folder.glob("chunk-*.npz")))
        path = self.folder / f"chunk-{n + 1:06d}.npz"
        tmp = self.folder / f".{path.name}.{uuid.uuid4().hex[:8]}.tmp"
        with open(tmp, "wb") as handle:
            np.savez(handle, hashes=np.asarray(hashes, dtype=str), vectors=np.asarray(vectors, dtype=np.float32))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
        return path

    def remove(self) -> None:
        """Drop the checkpoint (once the run has landed)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def run_embed_job(ctx: JobContext, *, embedder_factory: EmbedderFactory | None = None) -> dict[str, Any]:
    """Embed a debate's texts not yet cached for the model, checkpointing each batch; write one embedding run."""
    job, ws = ctx.job, ctx.ws
    spec = embedder_spec(job.model)
    batch_size = job.batch_size or DEFAULT_BATCH_SIZE
    device = _job_device(job)
    started = time.perf_counter()
    ctx.say(f"loading embedder {spec} on {device}")
    if job.engine == "ray":
        from dembias.ray_engine import RayEmbedder

        embedder: Embedder = RayEmbedder(spec, device=job.device, batch_size=batch_size, **job.params.get("ray", {}))
    else:
        embedder = (embedder_factory or default_embedder_factory)(spec, device, batch_size)
    contributions = load_contributions(ws, job.debate_id, include_rejected=bool(job.params.get("include_rejected")))
    texts = contributions["text"].tolist()
    first_text: dict[str, str] = {}
    for text in texts:
        first_text.setdefault(text_sha256(text), text)
    unique = list(first_text)
    cached = cached_hashes(ws, embedder, unique)
    todo = [h for h in unique if h not in cached]
    checkpoint = EmbeddingCheckpoint(
        ctx.checkpoint_dir, model_id=embedder.model_id, revision=embedder.revision, dim=embedder.dim
    )
    done = {h: v for h, v in checkpoint.load().items() if h in set(todo)}
    remaining = [h for h in todo if h not in done]
    resumed = len(todo) - len(remaining)
    ctx.start_count(resumed, len(todo))
    ctx.check_cancel()

    def embed_batch(batch: list[str]) -> np.ndarray:
        if job.engine == "local" and hasattr(embedder, "batch_size"):
            embedder.batch_size = max(1, len(batch))  # one model batch per call, so OOM halving takes effect
        return np.asarray(embedder.embed(batch), dtype=np.float32)

    chunk = batch_size if job.engine == "local" else int(job.params.get("segment", 50_000))
    batches = adaptive_batches([first_text[h] for h in remaining], embed_batch, batch_size=chunk, on_oom=ctx.halved)
    for start, stop, vectors in batches:
        checkpoint.save(remaining[start:stop], vectors)
        done.update(zip(remaining[start:stop], vectors, strict=True))
        ctx.report(resumed + stop, len(todo))
        ctx.check_cancel()
    ctx.report(len(todo), len(todo), force=True)
    if not todo:
        ctx.say(f"all {len(unique)} texts already embedded with {embedder.model_id}; no new run")
        return {"run_ids": [], "n_texts": len(unique), "n_new": 0, "n_resumed": 0}
    matrix = normalise_rows(np.vstack([done[h] for h in todo]))
    info = write_run(
        ws,
        stage=EMBEDDING_STAGE,
        debate_id=job.debate_id,
        tables={"embeddings": vectors_to_arrow(todo, matrix)},
        params={"model_id": embedder.model_id, "revision": embedder.revision, "dim": embedder.dim},
        inputs=[],
        timings={"embed": time.perf_counter() - started},
        extra_manifest=job_manifest(job, _previous_run(ws, "embed", job.debate_id)),
    )
    checkpoint.remove()
    return {
        "run_ids": [info.run_id],
        "n_texts": len(unique),
        "n_new": len(todo),
        "n_resumed": resumed,
        "n_embedded_now": len(remaining),
        "batch_size": ctx.batch_size,
    }


# ---- the other stages call the pipeline's own functions


def run_map_job(ctx: JobContext, *, embedder_factory: EmbedderFactory | None = None) -> dict[str, Any]:
    """Re-map a debate with the job's embedder (embeddings through the cache)."""
    from dembias import mapping

    job = ctx.job
    batch = job.batch_size or DEFAULT_BATCH_SIZE
    embedder = (embedder_factory or default_embedder_factory)(embedder_spec(job.model), _job_device(job), batch)
    extra = job_manifest(job, _previous_run(ctx.ws, "map", job.debate_id))
    summary = mapping.map_debate(ctx.ws, job.debate_id, embedder=embedder, progress=ctx.say, extra_manifest=extra)
    return {"run_ids": [summary.run_id], "n_contributions": summary.n_contributions}


def run_pluralism_job(ctx: JobContext, *, embedder_factory: EmbedderFactory | None = None) -> dict[str, Any]:
    """Re-link and re-score a debate's summaries; the job's model is an NLI model (linking by entailment)."""
    from dembias import scoring
    from dembias.align import NliModel

    job = ctx.job
    device = _job_device(job)
    embedder = None
    if job.params.get("embedder"):
        embedder = (embedder_factory or default_embedder_factory)(
            embedder_spec(job.params["embedder"]), device, DEFAULT_BATCH_SIZE
        )
    nli = NliModel.load(job.model, device=device, batch_size=job.batch_size or 32) if job.model else None
    extra = job_manifest(job, _previous_run(ctx.ws, "pluralism", job.debate_id))

    def attempt(size: int) -> Any:
        if nli is not None:
            nli.batch_size = size
            ctx.batch_size = size
        return scoring.score_debate(
            ctx.ws, job.debate_id, embedder=embedder, nli=nli, progress=ctx.say, extra_manifest=extra
        )

    info, scored = with_oom_retry(attempt, batch_size=job.batch_size or 32, on_oom=ctx.halved)
    return {"run_ids": [info.run_id] if info else [], "n_outputs": len(scored)}


def run_fidelity_job(ctx: JobContext, *, embedder_factory: EmbedderFactory | None = None) -> dict[str, Any]:
    """Re-score a debate's rewrites; the job's model is an NLI model (stance by entailment)."""
    from dembias import fidelity_scoring
    from dembias.metrics.fidelity import NLIScorer

    job = ctx.job
    device = _job_device(job)
    spec = embedder_spec(job.params.get("embedder"))
    embedder = (embedder_factory or default_embedder_factory)(spec, device, DEFAULT_BATCH_SIZE)
    nli = NLIScorer(job.model, device=device, batch_size=job.batch_size or 16) if job.model else None
    extra = job_manifest(job, _previous_run(ctx.ws, "fidelity", job.debate_id))

    def attempt(size: int) -> Any:
        if nli is not None:
            nli.batch_size = size
            ctx.batch_size = size
        return fidelity_scoring.run_fidelity(
            ctx.ws, debate_id=job.debate_id, embedder=embedder, nli=nli, progress=ctx.say, extra_manifest=extra
        )

    runs = with_oom_retry(attempt, batch_size=job.batch_size or 16, on_oom=ctx.halved)
    return {"run_ids": [r.info.run_id for r in runs]}


def run_generate_job(ctx: JobContext, *, embedder_factory: EmbedderFactory | None = None) -> dict[str, Any]:
    """Generate outputs with a causal LM (resumable through generate's own checkpoint) and store them."""
    del embedder_factory
    from dembias.generate import DEFAULT_MODEL, generate_outputs

    job = ctx.job
    limit = job.params.get("limit")
    count = {"n": 0}
    ctx.start_count(0, int(limit) if limit else None)

    def on_record(_record: dict[str, Any]) -> None:
        count["n"] += 1
        ctx.report(count["n"], ctx.total)
        ctx.check_cancel()

    result = generate_outputs(
        ctx.ws,
        task=job.params.get("task", "summary"),
        debate_id=job.debate_id,
        model=job.model or DEFAULT_MODEL,
        target_language=job.params.get("target_language"),
        limit=limit,
        batch_size=job.batch_size or 8,
        device=_job_device(job),
        show_progress=False,
        on_record=on_record,
    )
    return {"run_ids": [], **result.to_dict()}


RUNNERS: dict[str, Callable[..., dict[str, Any]]] = {
    "embed": run_embed_job,
    "map": run_map_job,
    "pluralism": run_pluralism_job,
    "fidelity": run_fidelity_job,
    "generate": run_generate_job,
}


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
