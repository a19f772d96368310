"""The corpus schema: its tables, the numbered migrations shipped in ``migrations/`` and the version applied."""

from __future__ import annotations

import datetime as dt
import re
from importlib import resources

import duckdb

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


SQL_SCHEMA_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
)
SQL_CURRENT_VERSION = "SELECT coalesce(max(version), 0) FROM schema_version"
SQL_RECORD_VERSION = "INSERT INTO schema_version VALUES (?, ?)"


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
            con.execute(SQL_RECORD_VERSION, [version, utc_now()])
            current = version
    return current


LATEST_SCHEMA_VERSION = max(v for v, _, _ in _migrations())


def utc_now() -> dt.datetime:
    """The time now in UTC, without a zone (as the corpus's TIMESTAMP columns hold it)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
