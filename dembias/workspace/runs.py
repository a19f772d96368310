"""Run files: each stage run is one immutable DuckDB file with a JSON manifest beside it.

A run is written to a temporary file and renamed into place when complete; it is never modified
afterwards. Listing runs reads the manifests only; readers open a run read-only or attach it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import platform
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from dembias.errors import StoreError
from dembias.workspace.folder import RUN_ID_PATTERN, Workspace
from dembias.workspace.identifiers import quote_identifier
from dembias.workspace.private_files import fsync_dir, fsync_file, private_dir
from dembias.workspace.schema import utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunInfo:
    """A landed run: its id, stage, debate and manifest."""

    run_id: str
    stage: str
    debate_id: str | None
    created_at: str
    manifest: dict[str, Any] = field(default_factory=dict)
    #: what the stage computed in memory, for the caller that prints it (the CLI's JSON); never written,
    #: ``None`` for a run read back from disk (see :mod:`dembias.workspace.stage`)
    details: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any]) -> RunInfo:
        """Build from a manifest dictionary as written by :func:`write_run`."""
        return cls(
            run_id=manifest["run_id"],
            stage=manifest["stage"],
            debate_id=manifest.get("debate_id"),
            created_at=manifest["created_at"],
            manifest=dict(manifest),
        )


def package_versions(extra: Sequence[str] = ()) -> dict[str, str]:
    """Installed versions of the packages that shape results."""
    names = ["dembias", "duckdb", "numpy", "pandas", "pyarrow", "scikit-learn", *extra]
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = platform.python_version()
    return versions


def new_run_id(stage: str) -> str:
    """A fresh run id such as ``mapping-20261128T120000-1a2b3c4d``."""
    if not re.match(r"^[a-z]+$", stage):
        raise StoreError(f"stage names are lowercase letters, got {stage!r}")
    return f"{stage}-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class RunRecord:
    """What a run's manifest says about how the run was made, besides its tables.

    ``params`` is every option that shaped the result; ``inputs`` the run ids it read; ``fingerprint`` (from
    :func:`~dembias.workspace.staleness.debate_fingerprint`, taken when the stage read the debate) lands as
    ``input_fingerprint`` so that :func:`~dembias.workspace.staleness.is_stale` can tell later whether the debate
    has changed; ``timings`` are seconds per step; ``packages`` names packages whose versions matter beyond the
    usual ones; ``warnings`` are sentences for the user; ``extra`` keys (a job's or a benchmark's provenance) are
    added to the manifest as given.
    """

    params: Mapping[str, Any] = field(default_factory=dict)
    inputs: Sequence[str] = ()
    fingerprint: str | None = None
    timings: Mapping[str, float] = field(default_factory=dict)
    packages: Sequence[str] = ()
    warnings: Sequence[str] = ()
    extra: Mapping[str, Any] | None = None

    def manifest_fields(self) -> dict[str, Any]:
        """The manifest keys this record fills (package versions looked up now)."""
        return {
            "params": dict(self.params),
            "inputs": list(self.inputs),
            "timings": {k: round(float(v), 4) for k, v in self.timings.items()},
            "packages": package_versions(self.packages),
            **({"input_fingerprint": self.fingerprint} if self.fingerprint is not None else {}),
            **({"warnings": list(self.warnings)} if self.warnings else {}),
        }


def write_run(
    ws: Workspace,
    *,
    stage: str,
    tables: Mapping[str, pd.DataFrame | pa.Table],
    debate_id: str | None = None,
    record: RunRecord | None = None,
    run_id: str | None = None,
) -> RunInfo:
    """Write a run file atomically with its manifest and return its :class:`RunInfo`.

    ``tables`` maps table names to frames; ``record`` says how the run was made (parameters, inputs, corpus
    fingerprint, timings, warnings: :class:`RunRecord`). The file is written under a temporary name and renamed
    into place when complete, so a crash leaves no partial run visible.
    """
    record = record or RunRecord()
    run_id = run_id or new_run_id(stage)
    final = _fresh_run_path(ws, run_id)
    manifest = {
        "run_id": run_id,
        "stage": stage,
        "debate_id": debate_id,
        "created_at": utc_now().isoformat(timespec="seconds"),
        **record.manifest_fields(),
        "tables": {name: _num_rows(frame) for name, frame in tables.items()},
        **dict(record.extra or {}),
    }
    manifest_text = json.dumps(manifest, sort_keys=True, default=str)
    try:
        database = _write_run_database(ws, run_id, manifest_text, tables)
        manifest_file = _write_manifest_file(ws, run_id, manifest_text)
        _land_run(ws, final, database, manifest_file)
    finally:
        for leftover in ws.runs_dir.glob(f".{run_id}.tmp*"):
            leftover.unlink()
    return RunInfo.from_manifest(manifest)


def _fresh_run_path(ws: Workspace, run_id: str) -> Path:
    """The path run ``run_id`` will land at, after clearing dead writers' leftovers (a StoreError if it exists)."""
    private_dir(ws.runs_dir)
    remove_stale_run_files(ws)
    final = ws.run_path(run_id)
    if final.exists():
        raise StoreError(f"{final}: run already exists; runs are never modified")
    return final


def _write_run_database(
    ws: Workspace, run_id: str, manifest_text: str, tables: Mapping[str, pd.DataFrame | pa.Table]
) -> Path:
    """The run's database (its manifest and tables) written, owner-only and flushed, under a temporary name."""
    tmp = ws.runs_dir / f".{run_id}.tmp.duckdb"
    con = duckdb.connect(str(tmp))
    try:
        con.execute("CREATE TABLE manifest (manifest JSON)")
        con.execute("INSERT INTO manifest VALUES (?)", [manifest_text])
        for name, frame in tables.items():
            _create_run_table(con, name, frame)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.chmod(tmp, 0o600)
    fsync_file(tmp)
    return tmp


def _create_run_table(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame | pa.Table) -> None:
    """Create table ``name`` of a run holding ``frame``'s rows, through Arrow."""
    arrow = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    view = f"_run_{uuid.uuid4().hex[:8]}"
    con.complete()
    con.register(view, arrow)
    con.execute(f"CREATE TABLE {quote_identifier(name)} AS SELECT * FROM {view}")
    con.unregister(view)


def _write_manifest_file(ws: Workspace, run_id: str, manifest_text: str) -> Path:
    """The run's JSON manifest written, owner-only and flushed, under a temporary name."""
    json_tmp = ws.runs_dir / f".{run_id}.tmp.json"
    json_tmp.write_text(manifest_text, encoding="utf-8")
    os.chmod(json_tmp, 0o600)
    fsync_file(json_tmp)
    return json_tmp


def _land_run(ws: Workspace, final: Path, database: Path, manifest_file: Path) -> None:
    """Rename the run's database, then its manifest, into place (the manifest last: listing reads it)."""
    os.replace(database, final)
    os.replace(manifest_file, final.with_suffix(".json"))
    fsync_dir(ws.runs_dir)


def manifest_problem(manifest: Any, path: Path) -> str | None:
    """Why ``manifest`` (read from ``path``) cannot describe a run, or None."""
    if not isinstance(manifest, dict):
        return f"not a JSON object but {type(manifest).__name__}"
    run_id = manifest.get("run_id")
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id) or run_id != path.stem:
        return f"run_id {run_id!r} is missing, malformed or not the file's name"
    if not isinstance(manifest.get("stage"), str) or not isinstance(manifest.get("created_at"), str):
        return "stage or created_at missing"
    if manifest.get("debate_id") is not None and not isinstance(manifest.get("debate_id"), str):
        return "debate_id is not text"
    for key, kind in (("params", dict), ("inputs", list)):
        if key in manifest and not isinstance(manifest[key], kind):
            return f"{key} is not a {kind.__name__}"
    return None


#: A temporary run file untouched for this long belongs to a writer that died (a run is written in minutes).
STALE_RUN_FILE_SECONDS = 3600.0


def remove_stale_run_files(ws: Workspace, *, older_than_s: float = STALE_RUN_FILE_SECONDS) -> list[Path]:
    """Delete temporary run files (``runs/.<run_id>.tmp.*``) of writers that died, judged by age."""
    removed = []
    now = dt.datetime.now().timestamp()
    for path in ws.runs_dir.glob(".*.tmp*") if ws.runs_dir.is_dir() else []:
        try:
            if now - path.stat().st_mtime > older_than_s:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            continue
    return removed


def list_runs(ws: Workspace, *, stage: str | None = None, debate_id: str | None = None) -> list[RunInfo]:
    """Landed runs, oldest first, read from their JSON manifests (no database is opened).

    A manifest whose database file is missing, or that cannot be parsed, is skipped: only complete
    runs are listed.
    """
    if not ws.runs_dir.exists():
        return []
    runs = []
    for path in ws.runs_dir.glob("*.json"):
        if path.name.startswith(".") or not path.with_suffix(".duckdb").exists():
            continue
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            log.warning("%s: run manifest skipped: not readable JSON (%s)", path, exc)
            continue
        problem = manifest_problem(manifest, path)
        if problem is not None:  # one bad manifest took down every page of every debate
            log.warning("%s: run manifest skipped: %s", path, problem)
            continue
        info = RunInfo.from_manifest(manifest)
        if (stage is None or info.stage == stage) and (debate_id is None or info.debate_id == debate_id):
            runs.append(info)
    return sorted(runs, key=lambda r: (r.created_at, r.run_id))


def latest_run(ws: Workspace, *, stage: str, debate_id: str | None = None) -> RunInfo | None:
    """The most recent landed run of ``stage`` (for ``debate_id`` when given), or None."""
    runs = list_runs(ws, stage=stage, debate_id=debate_id)
    return runs[-1] if runs else None


def attach_run(con: duckdb.DuckDBPyConnection, ws: Workspace, run_id: str, alias: str) -> None:
    """ATTACH run ``run_id`` read-only to ``con`` under ``alias`` (an identifier)."""
    path = ws.run_path(run_id)
    if not path.exists():
        raise StoreError(f"{path}: no such run")
    try:
        con.execute(f"ATTACH ? AS {quote_identifier(alias)} (READ_ONLY)", [str(path)])
    except duckdb.Error as exc:
        raise StoreError(f"{path}: run {run_id} cannot be read (corrupted or not a DuckDB file): {exc}") from exc


def open_run(ws: Workspace, run_id: str) -> duckdb.DuckDBPyConnection:
    """Open one run file read-only (a StoreError naming the file when it is corrupted)."""
    path = ws.run_path(run_id)
    if not path.exists():
        raise StoreError(f"{path}: no such run")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise StoreError(f"{path}: run {run_id} cannot be read (corrupted or not a DuckDB file): {exc}") from exc


def read_run_table(ws: Workspace, run_id: str, table: str) -> pd.DataFrame:
    """One table of a run as a DataFrame (for small tables; big ones should be queried)."""
    con = open_run(ws, run_id)
    try:
        return con.execute(f"SELECT * FROM {quote_identifier(table)}").df()
    except duckdb.Error as exc:
        raise StoreError(f"{ws.run_path(run_id)}: cannot read table {table!r} of run {run_id}: {exc}") from exc
    finally:
        con.close()


def read_run_tables(ws: Workspace, run_id: str, names: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The tables of ``names`` that a run holds (a missing one is left out), as frames."""
    con = open_run(ws, run_id)
    try:
        present = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        return {n: con.execute(f"SELECT * FROM {quote_identifier(n)}").df() for n in names if n in present}
    finally:
        con.close()


def _num_rows(frame: pd.DataFrame | pa.Table) -> int:
    return int(frame.num_rows if isinstance(frame, pa.Table) else len(frame))
