"""Which workers are alive: heartbeats, dead workers found by their pid, their running jobs marked failed."""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from pathlib import Path
from typing import Any

from dembias.jobs.files import (
    STALE_CLAIM_SECONDS,
    Job,
    _job_path,
    _load_job,
    _now,
    _read_json,
    _whole,
    jobs_root,
    write_json_atomic,
)
from dembias.workspace.folder import Workspace


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
