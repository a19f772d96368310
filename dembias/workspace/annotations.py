"""Annotations of qualitative audits: flag a contribution, an output pair, a unit or a cluster with a note.

They live in the workspace's ``state.duckdb``, the dashboard's own file, which only the dashboard
process writes (DESIGN.md §3). Every call opens the file, does its work and closes it, so the file is
never held open between requests; a lock serialises the sessions of one process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from dembias.errors import StoreError

TARGET_TYPES = ("contribution", "output_pair", "unit", "cluster", "output")
LABELS = ("misrepresented", "dropped minority", "stance changed", "meaning lost", "good example", "other")
MAX_NOTE = 5000

SQL_CREATE = """
CREATE TABLE IF NOT EXISTS annotations (
    annotation_id VARCHAR PRIMARY KEY,
    debate_id     VARCHAR NOT NULL,
    target_type   VARCHAR NOT NULL,
    target_id     VARCHAR NOT NULL,
    label         VARCHAR NOT NULL,
    note          VARCHAR,
    author        VARCHAR,
    run_id        VARCHAR,
    created_at    TIMESTAMP NOT NULL,
    output_id     VARCHAR
)"""
#: Schema changes of the state file, applied in order on every open (each is idempotent): a state file
#: written before a column existed still opens, the column empty for its old rows.
STATE_MIGRATIONS = (
    # issue 17: the output (summary, rewrite) a note is about, beside the run it was read in
    "ALTER TABLE annotations ADD COLUMN IF NOT EXISTS output_id VARCHAR",
)
#: The longest author name kept.
MAX_AUTHOR = 200
COLUMNS = (
    "annotation_id",
    "debate_id",
    "target_type",
    "target_id",
    "label",
    "note",
    "author",
    "run_id",
    "created_at",
    "output_id",
)

_LOCK = threading.Lock()


@dataclass(frozen=True)
class Annotation:
    """One flag with its note."""

    debate_id: str
    target_type: str
    target_id: str
    label: str
    note: str = ""
    author: str = ""
    run_id: str | None = None
    output_id: str | None = None

    def validate(self) -> None:
        """Raise ValueError on an unknown target type or label, an empty target or an over-long note."""
        if self.target_type not in TARGET_TYPES:
            raise ValueError(f"target_type must be one of {TARGET_TYPES}, got {self.target_type!r}")
        if self.label not in LABELS:
            raise ValueError(f"label must be one of {LABELS}, got {self.label!r}")
        if not str(self.target_id).strip() or not self.debate_id:
            raise ValueError("an annotation needs a debate and a target")
        if len(self.note) > MAX_NOTE:
            raise ValueError(f"notes are limited to {MAX_NOTE} characters")
        if len(self.author) > MAX_AUTHOR:
            raise ValueError(f"author names are limited to {MAX_AUTHOR} characters")


def _connect(path: Path, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    if read_only:
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    os.chmod(path, 0o600)  # audit notes are the owner's only
    con.execute(SQL_CREATE)
    for statement in STATE_MIGRATIONS:
        con.execute(statement)
    return con


@contextlib.contextmanager
def _state(state_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """The state file opened under the lock; a truncated or damaged file is a StoreError naming it."""
    with _LOCK:
        try:
            con = _connect(state_path)
        except duckdb.Error as exc:
            raise StoreError(
                f"{state_path}: the dashboard's state file cannot be read (truncated or corrupted)"
            ) from exc
        try:
            yield con
        except duckdb.Error as exc:
            raise StoreError(f"{state_path}: the dashboard's state file cannot be read: {exc}") from exc
        finally:
            con.close()


def add_annotation(state_path: Path, annotation: Annotation) -> str:
    """Store an annotation; returns its id."""
    annotation.validate()
    annotation_id = "a_" + uuid.uuid4().hex[:12]
    with _state(state_path) as con:
        con.execute(
            f"INSERT INTO annotations ({', '.join(COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                annotation_id,
                annotation.debate_id,
                annotation.target_type,
                str(annotation.target_id),
                annotation.label,
                annotation.note,
                annotation.author.strip(),
                annotation.run_id,
                dt.datetime.now(dt.UTC).replace(tzinfo=None),
                annotation.output_id,
            ],
        )
    return annotation_id


def list_annotations(state_path: Path, *, debate_id: str | None = None) -> pd.DataFrame:
    """Annotations, newest first (of one debate when given); empty when there are none yet."""
    if not state_path.exists():
        return pd.DataFrame(columns=list(COLUMNS))
    with _state(state_path) as con:
        if debate_id is None:
            return con.execute(f"SELECT {', '.join(COLUMNS)} FROM annotations ORDER BY created_at DESC").df()
        return con.execute(
            f"SELECT {', '.join(COLUMNS)} FROM annotations WHERE debate_id = ? ORDER BY created_at DESC", [debate_id]
        ).df()


def delete_annotation(state_path: Path, annotation_id: str) -> bool:
    """Delete one annotation; returns whether it existed."""
    if not state_path.exists():
        return False
    with _state(state_path) as con:
        found = con.execute("SELECT count(*) FROM annotations WHERE annotation_id = ?", [annotation_id]).fetchall()[0][
            0
        ]
        con.execute("DELETE FROM annotations WHERE annotation_id = ?", [annotation_id])
        return bool(found)
