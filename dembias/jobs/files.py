"""Job files: the job record, where each state lives, atomic JSON, malformed-file quarantine.

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
Each job writes its result as an ordinary run through :func:`dembias.workspace.runs.write_run` (atomic), whose
manifest records ``job_id`` and ``rescores``: the debate's previous run of the same stage, so a view can
compare the two.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dembias.errors import DembiasError
from dembias.workspace.folder import Workspace
from dembias.workspace.private_files import private_dir

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
GENERATE_TASKS = ("summary", "reformulation", "translation")  # dembias.ingest.outputs.TASKS (not imported: light)
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
