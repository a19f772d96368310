"""Opening workspace files for reading: DuckDB read errors as StoreErrors, the corpus with runs attached, the cache key.

Every query opens the files it needs read-only and closes them, so any number of readers can run beside a writer
(the corpus is replaced by rename, runs are immutable). Callers cache the results, keyed by :func:`workspace_version`.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import duckdb

from dembias.errors import StoreError
from dembias.workspace.corpus import corpus_reader
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import list_runs

P = ParamSpec("P")
R = TypeVar("R")


def readable(func: Callable[P, R]) -> Callable[P, R]:
    """Turn a DuckDB error met while reading (a truncated or damaged corpus or run: DuckDB reads blocks
    lazily, so it shows at query time, not at open) into a :class:`StoreError` with DuckDB's message."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except duckdb.Error as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise StoreError(f"a workspace file cannot be read (truncated or corrupted): {first}") from exc

    return wrapper


def workspace_version(ws: Workspace) -> tuple[float, int]:
    """Changes whenever the corpus is replaced or a run lands: a cache key for readers."""
    corpus_mtime = ws.corpus_path.stat().st_mtime if ws.corpus_path.exists() else 0.0
    return corpus_mtime, len(list_runs(ws))


@contextlib.contextmanager
def corpus_with_runs(ws: Workspace, runs: dict[str, str | None]) -> Iterator[duckdb.DuckDBPyConnection]:
    """The corpus opened read-only with each run in ``runs`` (alias -> run id) attached read-only.

    The connection is this call's own database instance (:func:`dembias.workspace.corpus.corpus_reader`, pooled), so
    concurrent callers (several viewers of the dashboard) never see each other's attachments.
    """
    with corpus_reader(ws, runs) as con:
        yield con


def attached_table_exists(con: duckdb.DuckDBPyConnection, alias: str, table: str) -> bool:
    """Whether the database attached to ``con`` as ``alias`` (a run of :func:`corpus_with_runs`) holds ``table``."""
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = ?", [alias, table]
        ).fetchall()[0][0]
    )
