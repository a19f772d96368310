"""The corpus database: read-only readers (pooled private instances with runs attached) and the writer.

DuckDB lets one read-write process lock every other process out of a file, so nothing here keeps a
file open for writing while others read it:

* the corpus is written copy-on-write: a writer copies ``corpus.duckdb`` to a temporary file, changes
  the copy, and renames it over the original only when everything succeeded. Readers that opened the
  old file keep reading it; a failure leaves the workspace exactly as it was.
* readers open files read-only and ``ATTACH`` the runs they need.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from dembias.errors import StoreError
from dembias.workspace.folder import CORPUS_FILE, LOCK_FILE, Workspace
from dembias.workspace.identifiers import quote_identifier
from dembias.workspace.private_files import fsync_dir, fsync_file, private_dir, zero_fill
from dembias.workspace.runs import attach_run
from dembias.workspace.schema import LATEST_SCHEMA_VERSION, migrate, schema_version


def duckdb_config() -> dict[str, str]:
    """Settings for writer connections: a memory cap (``$DEMBIAS_DUCKDB_MEMORY``, default 4GB) past which
    DuckDB spills to disk, so big ingests stay bounded."""
    return {"memory_limit": os.environ.get("DEMBIAS_DUCKDB_MEMORY", "4GB")}


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
            fsync_file(landed)
            os.replace(landed, ws.corpus_path)
            fsync_dir(ws.root)
        finally:
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal"), fresh, fresh.with_name(fresh.name + ".wal")):
                if rewrite:
                    zero_fill(leftover)
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
