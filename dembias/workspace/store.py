"""Workspace storage: the corpus database, immutable run files, and their manifests.

A workspace is a folder::

    corpus.duckdb          ingested sources (debates, contributions, votes, outputs, ...)
    runs/<run_id>.duckdb   one file per derived stage run (embedding, mapping, scoring, ...)
    runs/<run_id>.json     that run's manifest, readable without opening any database
    state.duckdb           the dashboard's own state (annotations, job requests)
    pseudonym.key          the HMAC key for author pseudonyms (never inside a database)

DuckDB lets one read-write process lock every other process out of a file, so nothing here keeps a
file open for writing while others read it:

* the corpus is written copy-on-write: a writer copies ``corpus.duckdb`` to a temporary file, changes
  the copy, and renames it over the original only when everything succeeded. Readers that opened the
  old file keep reading it; a failure leaves the workspace exactly as it was.
* each run is written to a temporary file and renamed into place when complete; it is never
  modified afterwards.
* readers open files read-only and ``ATTACH`` the runs they need.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata, resources
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from dembias.errors import StoreError
from dembias.workspace.contribution_selection import selection_sql

DEFAULT_WORKSPACE = Path("data/workspace")
CORPUS_FILE = "corpus.duckdb"
RUNS_DIR = "runs"
STATE_FILE = "state.duckdb"
KEY_FILE = "pseudonym.key"
LOCK_FILE = ".corpus.lock"

#: Tables of the corpus database, in the order they are filled. Identifiers are whitelisted here.
CORPUS_TABLES: tuple[str, ...] = (
    "debates",
    "contributions",
    "participants",
    "votes",
    "outputs",
    "output_units",
    "citations",
)

log = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_RUN_ID = re.compile(r"^[a-z]+-[0-9]{8}T[0-9]{6}-[0-9a-f]{8}$")

SQL_SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
)
SQL_CURRENT_VERSION = "SELECT coalesce(max(version), 0) FROM schema_version"
SQL_RECORD_VERSION = "INSERT INTO schema_version VALUES (?, ?)"


def quote_identifier(name: str) -> str:
    """Return ``name`` double-quoted after checking it is a plain identifier (never user text)."""
    if not _IDENTIFIER.match(name):
        raise StoreError(f"refused identifier {name!r}: identifiers must match {_IDENTIFIER.pattern}")
    return f'"{name}"'


@dataclass(frozen=True)
class Workspace:
    """A workspace folder and the paths of the files it holds."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def resolve(cls, path: str | os.PathLike[str] | None = None) -> Workspace:
        """Workspace at ``path``, else ``$DEMBIAS_WORKSPACE``, else ``data/workspace``."""
        chosen = path or os.environ.get("DEMBIAS_WORKSPACE") or DEFAULT_WORKSPACE
        return cls(Path(chosen).expanduser().resolve())

    @property
    def corpus_path(self) -> Path:
        return self.root / CORPUS_FILE

    @property
    def runs_dir(self) -> Path:
        return self.root / RUNS_DIR

    @property
    def state_path(self) -> Path:
        return self.root / STATE_FILE

    @property
    def key_path(self) -> Path:
        return self.root / KEY_FILE

    def exists(self) -> bool:
        """Whether the workspace has a corpus database."""
        return self.corpus_path.exists()

    def run_path(self, run_id: str) -> Path:
        """Path of the database file of run ``run_id`` (validated, so it cannot escape the folder)."""
        if not _RUN_ID.match(run_id):
            raise StoreError(f"not a run id: {run_id!r}")
        return self.runs_dir / f"{run_id}.duckdb"


def duckdb_config() -> dict[str, str]:
    """Settings for writer connections: a memory cap (``$DEMBIAS_DUCKDB_MEMORY``, default 4GB) past which
    DuckDB spills to disk, so big ingests stay bounded."""
    return {"memory_limit": os.environ.get("DEMBIAS_DUCKDB_MEMORY", "4GB")}


# --------------------------------------------------------------------------------------------------
# migrations


def _migrations() -> list[tuple[int, str, str]]:
    """Numbered migration scripts shipped in ``dembias/workspace/migrations`` as (version, name, sql)."""
    found = []
    for entry in resources.files("dembias.workspace.migrations").iterdir():
        match = re.match(r"^(\d{4})_(\w+)\.sql$", entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The schema version of an open corpus database (0 when it has none)."""
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    if "schema_version" not in tables:
        return 0
    return int(con.execute(SQL_CURRENT_VERSION).fetchone()[0])


def migrate(con: duckdb.DuckDBPyConnection) -> int:
    """Apply every migration newer than the database's version; returns the resulting version."""
    con.execute(SQL_SCHEMA_VERSION_TABLE)
    current = schema_version(con)
    for version, _name, sql in _migrations():
        if version > current:
            con.execute(sql)
            con.execute(SQL_RECORD_VERSION, [version, _now()])
            current = version
    return current


LATEST_SCHEMA_VERSION = max(v for v, _, _ in _migrations())


# --------------------------------------------------------------------------------------------------
# corpus


def open_corpus(ws: Workspace) -> duckdb.DuckDBPyConnection:
    """Open the corpus read-only. Several processes may do so at once."""
    _require_corpus(ws)
    try:
        con = duckdb.connect(str(ws.corpus_path), read_only=True)
    except duckdb.Error as exc:
        raise _unreadable(ws) from exc
    return _checked_schema(ws, con)


def _require_corpus(ws: Workspace) -> None:
    if not ws.corpus_path.exists():
        raise StoreError(f"{ws.root}: no workspace here (no {CORPUS_FILE}); build one with `dembias demo`")


def _unreadable(ws: Workspace) -> StoreError:
    return StoreError(f"{ws.corpus_path}: the corpus cannot be read (corrupted or not a DuckDB file)")


def _checked_schema(ws: Workspace, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """``con`` when the corpus it reads is at the latest schema version; else closed, and a StoreError."""
    try:
        version = schema_version(con)
    except duckdb.Error as exc:
        con.close()
        raise _unreadable(ws) from exc
    if version != LATEST_SCHEMA_VERSION:
        con.close()
        raise StoreError(
            f"{ws.corpus_path}: schema version {version}, this dembias expects {LATEST_SCHEMA_VERSION}; "
            "run any `dembias ingest` command to migrate it"
        )
    return con


def open_corpus_private(ws: Workspace) -> duckdb.DuckDBPyConnection:
    """The corpus read-only on a database instance of this call's own, for attaching runs to it.

    ``duckdb.connect(path)`` shares one database instance per file across a process, and ``ATTACH`` adds to
    that instance: two threads (two dashboard viewers) attaching a run under the same alias collided
    ("database with name "m" already exists"). Here the corpus is attached (as ``corpus``, made the default
    with ``USE``) to a fresh in-memory instance that nothing else sees, so any number of concurrent readers
    can attach runs under any alias; closing the connection drops the instance and its attachments.
    """
    _require_corpus(ws)
    con = duckdb.connect(":memory:")
    try:
        con.execute("ATTACH ? AS corpus (READ_ONLY)", [str(ws.corpus_path)])
        con.execute("USE corpus")
    except duckdb.Error as exc:
        con.close()
        raise _unreadable(ws) from exc
    return _checked_schema(ws, con)


#: Idle private reader instances kept per corpus file, and for how long (seconds) an idle one is kept.
READER_POOL_SIZE = 8
READER_IDLE_SECONDS = 30.0
_reader_pool: dict[str, list[tuple[duckdb.DuckDBPyConnection, tuple[int, int], float]]] = {}
_reader_pool_lock = threading.Lock()


def _corpus_stamp(ws: Workspace) -> tuple[int, int]:
    """Identity of the corpus file now (a writer replaces it by rename: a new inode)."""
    st = ws.corpus_path.stat()
    return st.st_ino, st.st_mtime_ns


@contextlib.contextmanager
def corpus_reader(ws: Workspace, runs: Mapping[str, str | None]) -> Iterator[duckdb.DuckDBPyConnection]:
    """The corpus read-only with each run of ``runs`` (alias -> run id) attached, on a private instance.

    The instance (:func:`open_corpus_private`) is this caller's alone while the block runs, so concurrent
    readers never see each other's aliases. Creating one costs tens of milliseconds, so idle ones are
    pooled: on exit the runs are detached and the instance kept for the next caller, unless the corpus was
    replaced since it was attached, it sat idle over :data:`READER_IDLE_SECONDS`, or anything failed.
    """
    if not ws.corpus_path.exists():
        raise StoreError(f"{ws.root}: no workspace here (no {CORPUS_FILE}); build one with `dembias demo`")
    key, stamp, con = str(ws.corpus_path), _corpus_stamp(ws), None
    now = time.monotonic()
    with _reader_pool_lock:
        idle = _reader_pool.get(key, [])
        keep = []
        for entry in idle:
            if con is None and entry[1] == stamp and now - entry[2] <= READER_IDLE_SECONDS:
                con = entry[0]
            elif now - entry[2] <= READER_IDLE_SECONDS and entry[1] == stamp:
                keep.append(entry)
            else:
                entry[0].close()
        _reader_pool[key] = keep
    if con is None:
        con = open_corpus_private(ws)
    attached: list[str] = []
    reusable = False
    try:
        for alias, run_id in runs.items():
            if run_id:
                attach_run(con, ws, run_id, alias)
                attached.append(alias)
        yield con
        for alias in attached:
            con.execute(f"DETACH {quote_identifier(alias)}")
        reusable = True
    finally:
        if reusable:
            with _reader_pool_lock:
                pool = _reader_pool.setdefault(key, [])
                if len(pool) < READER_POOL_SIZE:
                    pool.append((con, stamp, time.monotonic()))
                    con = None
        if con is not None:
            con.close()


#: The umask of dembias processes (the CLI, the dashboard): files they create are their owner's only.
PRIVATE_UMASK = 0o077


def use_private_umask() -> int:
    """Make every file and folder this process creates private to its user; returns the previous umask.

    The workspace holds contributions, pseudonymised votes and audit notes: another local user must not
    read them (they were 0644). Called by the console script and the dashboard; library callers get
    private modes on the files dembias writes itself (:func:`private_dir`, ``chmod 0600``) either way.
    """
    return os.umask(PRIVATE_UMASK)


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) owner-only (0700) when missing; returns it."""
    if not path.is_dir():
        for parent in reversed([path, *path.parents]):
            if not parent.exists():
                with contextlib.suppress(FileExistsError):
                    parent.mkdir(mode=0o700)
    return path


@contextlib.contextmanager
def _writer_lock(ws: Workspace) -> Iterator[None]:
    private_dir(ws.root)
    fd = os.open(ws.root / LOCK_FILE, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


TMP_CORPUS_GLOB = ".corpus-*.tmp.duckdb*"


@contextlib.contextmanager
def corpus_writer(ws: Workspace, *, rewrite: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Change the corpus copy-on-write; the change lands whole when the block exits without error.

    The block gets a read-write connection on a temporary copy of the corpus (migrated to the latest
    schema). On success the copy replaces ``corpus.duckdb`` with an atomic rename; on any exception the
    copy is deleted and the corpus is left exactly as it was. Writers queue on a lock file; copies left by
    a writer that was killed (the lock is ours, so no other writer is using them) are deleted first.
    Scratch tables a writer creates in the copy must be dropped before the block ends.

    With ``rewrite`` (redaction), the changed copy is written again table by table into a fresh file
    (``COPY FROM DATABASE``), so that no free block of the file still holds a value that was replaced or
    deleted, and the intermediate copy is overwritten with zeros before it is deleted.
    """
    with _writer_lock(ws):
        remove_stale_corpus_copies(ws)
        tmp = ws.root / f".corpus-{uuid.uuid4().hex[:8]}.tmp.duckdb"
        fresh = tmp.with_name(tmp.name.replace(".tmp.duckdb", "-fresh.tmp.duckdb"))
        try:
            if ws.corpus_path.exists():
                shutil.copyfile(ws.corpus_path, tmp)
            con = duckdb.connect(str(tmp), config=duckdb_config())
            try:
                migrate(con)
                # No enclosing transaction: the copy is private until the rename, so a failure anywhere
                # discards it whole, and autocommitted statements let DuckDB spill big ingests to disk
                # instead of holding one huge transaction in memory.
                yield con
                con.execute("CHECKPOINT")
            finally:
                con.close()
            os.chmod(tmp, 0o600)
            landed = tmp
            if rewrite:
                _rewrite_database(tmp, fresh)
                landed = fresh
            _fsync(landed)
            os.replace(landed, ws.corpus_path)
            _fsync_dir(ws.root)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal"), fresh, fresh.with_name(fresh.name + ".wal")):
                if rewrite:
                    _zero_fill(leftover)
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()


def remove_stale_corpus_copies(ws: Workspace) -> list[Path]:
    """Delete the temporary corpus copies of writers that died (call only while holding the writer lock).

    A killed ingest leaves a full, possibly unredacted copy of the corpus behind; nothing else would remove it.
    """
    removed = []
    for path in ws.root.glob(TMP_CORPUS_GLOB) if ws.root.is_dir() else []:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
            removed.append(path)
    return removed


def _rewrite_database(source: Path, target: Path) -> None:
    """Copy every table of ``source`` into a new database file ``target`` (schema, constraints and rows)."""
    con = duckdb.connect(":memory:", config=duckdb_config())
    try:
        con.execute("ATTACH ? AS source_db (READ_ONLY)", [str(source)])
        con.execute("ATTACH ? AS target_db", [str(target)])
        con.execute("COPY FROM DATABASE source_db TO target_db")
        con.execute("CHECKPOINT target_db")
        con.execute("DETACH target_db")
    finally:
        con.close()
    os.chmod(target, 0o600)


def _zero_fill(path: Path) -> None:
    """Overwrite a file's bytes with zeros (a best effort before deleting a copy that held redacted values)."""
    try:
        with open(path, "r+b") as handle:
            size, chunk = os.fstat(handle.fileno()).st_size, b"\0" * (1 << 20)
            for _ in range(0, size, len(chunk)):
                handle.write(chunk)
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())
    except FileNotFoundError:
        pass


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame | pa.Table) -> int:
    """Append ``frame`` to ``table`` by column name, through Arrow; returns the number of rows."""
    arrow = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    if arrow.num_rows == 0:
        return 0
    columns = ", ".join(quote_identifier(c) for c in arrow.column_names)
    view = f"_insert_{uuid.uuid4().hex[:8]}"
    con.complete()  # DuckDB 2 results stream: finish any open result before registering
    con.register(view, arrow)
    try:
        con.execute(f"INSERT INTO {quote_identifier(table)} ({columns}) SELECT {columns} FROM {view}")
    finally:
        con.unregister(view)
    return arrow.num_rows


# --------------------------------------------------------------------------------------------------
# runs


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


def write_run(
    ws: Workspace,
    *,
    stage: str,
    tables: Mapping[str, pd.DataFrame | pa.Table],
    debate_id: str | None = None,
    params: Mapping[str, Any] | None = None,
    inputs: Sequence[str] = (),
    timings: Mapping[str, float] | None = None,
    extra_manifest: Mapping[str, Any] | None = None,
    packages: Sequence[str] = (),
    run_id: str | None = None,
    fingerprint: str | None = None,
    warnings: Sequence[str] = (),
) -> RunInfo:
    """Write a run file atomically with its manifest and return its :class:`RunInfo`.

    ``tables`` maps table names to frames. The file is written under a temporary name and renamed
    into place when complete, so a crash leaves no partial run visible. ``fingerprint`` (from
    :func:`debate_fingerprint`, taken when the stage read the debate) lands in the manifest as
    ``input_fingerprint`` so that :func:`is_stale` can tell later whether the debate has changed;
    ``warnings`` (sentences for the user) land as ``warnings``.
    """
    run_id = run_id or new_run_id(stage)
    final = _fresh_run_path(ws, run_id)
    manifest = {
        "run_id": run_id,
        "stage": stage,
        "debate_id": debate_id,
        "created_at": _now().isoformat(timespec="seconds"),
        "params": dict(params or {}),
        "inputs": list(inputs),
        "timings": {k: round(float(v), 4) for k, v in (timings or {}).items()},
        "packages": package_versions(packages),
        "tables": {name: _num_rows(frame) for name, frame in tables.items()},
        **({"input_fingerprint": fingerprint} if fingerprint is not None else {}),
        **({"warnings": list(warnings)} if warnings else {}),
        **dict(extra_manifest or {}),
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
    _fsync(tmp)
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
    _fsync(json_tmp)
    return json_tmp


def _land_run(ws: Workspace, final: Path, database: Path, manifest_file: Path) -> None:
    """Rename the run's database, then its manifest, into place (the manifest last: listing reads it)."""
    os.replace(database, final)
    os.replace(manifest_file, final.with_suffix(".json"))
    _fsync_dir(ws.runs_dir)


def manifest_problem(manifest: Any, path: Path) -> str | None:
    """Why ``manifest`` (read from ``path``) cannot describe a run, or None."""
    if not isinstance(manifest, dict):
        return f"not a JSON object but {type(manifest).__name__}"
    run_id = manifest.get("run_id")
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id) or run_id != path.stem:
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


#: The contributions a fingerprint reads: the debate's, rejected ones included (the one selection,
#: :mod:`dembias.workspace.contribution_selection`).
FINGERPRINTED_CONTRIBUTIONS = selection_sql(
    ("contribution_id", "text", "is_rejected"), include_rejected=True, ids=False, debate_defaults=False
)

#: The fingerprint of a debate's corpus rows: contributions in id order (id, SHA-256 of the text,
#: rejected flag), then the votes' count, sum and number of voters. Computed in SQL, so it costs one
#: scan; any ``--replace`` or ``redact`` that changes a text, a moderation or the votes changes it.
SQL_DEBATE_FINGERPRINT = f"""
SELECT
    (SELECT count(*) FROM debates WHERE debate_id = $debate) AS n_debates,
    (SELECT count(*) || ':' || coalesce(sha256(string_agg(
        contribution_id || chr(31) || sha256(text) || chr(31) || CAST(is_rejected AS VARCHAR),
        chr(30) ORDER BY contribution_id)), '')
     FROM ({FINGERPRINTED_CONTRIBUTIONS}) AS selected) AS contributions,
    (SELECT count(*) || ':' || coalesce(sum(vote), 0) || ':' || count(DISTINCT participant_pid)
     FROM votes WHERE debate_id = $debate) AS votes
"""

FINGERPRINT_VERSION = "v1"


def debate_fingerprint(con: duckdb.DuckDBPyConnection, debate_id: str) -> str | None:
    """A short fingerprint of the rows of ``debate_id`` in an open corpus connection (None: no such debate).

    Stages pass it to :func:`write_run` (``fingerprint=``) as they read the debate.
    """
    n_debates, contributions, votes = con.execute(SQL_DEBATE_FINGERPRINT, {"debate": debate_id}).fetchone()
    if not n_debates:
        return None
    digest = hashlib.sha256(f"{contributions}|{votes}".encode()).hexdigest()[:16]
    return f"{FINGERPRINT_VERSION}:{digest}"


def workspace_fingerprint(ws: Workspace, debate_id: str) -> str | None:
    """:func:`debate_fingerprint` of ``debate_id`` in the workspace's corpus (opened read-only)."""
    con = open_corpus(ws)
    try:
        return debate_fingerprint(con, debate_id)
    finally:
        con.close()


def run_staleness(ws: Workspace, runs: Sequence[RunInfo] | None = None) -> dict[str, bool | None]:
    """Whether each run is stale: its debate changed since it read it (run_id -> True, False or None).

    A run that recorded ``input_fingerprint`` is stale when its debate's fingerprint differs now (or the
    debate is gone). A run without one (older runs, stages that do not record it yet) is stale when a
    run it was built on is; otherwise unknown (None). One fingerprint query per debate that one of
    these runs (or a run they were built on) read, on one read-only connection.
    """
    every = {r.run_id: r for r in list_runs(ws)}
    wanted = list(runs) if runs is not None else list(every.values())
    every.update({r.run_id: r for r in wanted})
    current: dict[str, str | None] = {}
    con: duckdb.DuckDBPyConnection | None = None

    def fingerprint_now(debate_id: str) -> str | None:
        nonlocal con
        if debate_id not in current:
            if con is None:
                if not ws.corpus_path.exists():
                    return None
                con = open_corpus(ws)
            current[debate_id] = debate_fingerprint(con, debate_id)
        return current[debate_id]

    found: dict[str, bool | None] = {}

    def resolve(run_id: str, seen: frozenset[str]) -> bool | None:
        if run_id in found:
            return found[run_id]
        run = every.get(run_id)
        if run is None or run_id in seen:
            return None
        recorded = run.manifest.get("input_fingerprint")
        if recorded and run.debate_id:
            verdict: bool | None = fingerprint_now(run.debate_id) != recorded
        else:
            upstream = [resolve(i, seen | {run_id}) for i in run.manifest.get("inputs", [])]
            verdict = True if any(u is True for u in upstream) else None
        found[run_id] = verdict
        return verdict

    try:
        return {r.run_id: resolve(r.run_id, frozenset()) for r in wanted}
    finally:
        if con is not None:
            con.close()


def is_stale(ws: Workspace, run: RunInfo) -> bool | None:
    """Whether the debate ``run`` read has changed since (texts, moderation or votes): True, False, or
    None when unknown (see :func:`run_staleness`)."""
    return run_staleness(ws, [run])[run.run_id]


def stale_runs(ws: Workspace, debate_id: str) -> list[RunInfo]:
    """The runs of ``debate_id`` that its current rows make stale (oldest first)."""
    runs = list_runs(ws, debate_id=debate_id)
    verdicts = run_staleness(ws, runs)
    return [r for r in runs if verdicts[r.run_id]]


def stale_warning(ws: Workspace, run: RunInfo, *, verdict: bool | None = None) -> str | None:
    """A sentence for the user when ``run`` is stale (with the command that refreshes it), else None."""
    stale = is_stale(ws, run) if verdict is None else verdict
    if not stale:
        return None
    return (
        f"{run.stage} run {run.run_id} describes debate {run.debate_id!r} as it was before it changed "
        f"(texts, moderation or votes); refresh it with: {refresh_hint(run)}"
    )


def refresh_hint(run: RunInfo) -> str:
    """The command that replaces a stale run with one on the debate as it is now."""
    if run.stage == "mapping":
        return f"dembias map --debate {run.debate_id}"
    return (
        f"rerun the {run.stage} stage on debate {run.debate_id} (e.g. dembias map --debate {run.debate_id}, then score)"
    )


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


# --------------------------------------------------------------------------------------------------
# helpers


def _now() -> dt.datetime:
    """The time now in UTC, without a zone (as the corpus's TIMESTAMP columns hold it)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _num_rows(frame: pd.DataFrame | pa.Table) -> int:
    return int(frame.num_rows if isinstance(frame, pa.Table) else len(frame))


def _fsync(path: Path) -> None:
    """Flush a file's bytes to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    """Flush a folder's entries to disk (so that a rename in it survives a crash)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
