"""Which debates the corpus holds, and what each has: the listings every stage loops over, a debate's record,
the outputs of a debate and of the corpus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb

from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace


def corpus_debate_ids(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The id of every debate the open corpus ``con`` holds, in id order (inside a writer's transaction too)."""
    return [r[0] for r in con.execute("SELECT debate_id FROM debates ORDER BY debate_id").fetchall()]


def debate_ids(ws: Workspace) -> list[str]:
    """Every debate of the workspace, in id order."""
    con = open_corpus(ws)
    try:
        return corpus_debate_ids(con)
    finally:
        con.close()


def corpus_has_debate(con: duckdb.DuckDBPyConnection, debate_id: str) -> bool:
    """Whether the open corpus ``con`` holds a debate of this id (inside a writer's transaction too)."""
    return bool(con.execute("SELECT 1 FROM debates WHERE debate_id = ?", [debate_id]).fetchall())


def debate_exists(ws: Workspace, debate_id: str) -> bool:
    """Whether the corpus holds a debate of this id."""
    con = open_corpus(ws)
    try:
        return corpus_has_debate(con, debate_id)
    finally:
        con.close()


def count_debate_votes(con: duckdb.DuckDBPyConnection, debate_id: str) -> int:
    """How many votes of the debate the open corpus ``con`` holds (inside a writer's transaction too)."""
    return int(con.execute("SELECT count(*) FROM votes WHERE debate_id = ?", [debate_id]).fetchone()[0])


def debate_has_votes(ws: Workspace, debate_id: str) -> bool:
    """Whether any vote of the debate is stored."""
    con = open_corpus(ws)
    try:
        return count_debate_votes(con, debate_id) > 0
    finally:
        con.close()


def debate_record(ws: Workspace, debate_id: str) -> dict[str, Any] | None:
    """The debate's row of the ``debates`` table (title, question, language, country, ...), None when unknown."""
    con = open_corpus(ws)
    try:
        cursor = con.execute("SELECT * FROM debates WHERE debate_id = ?", [debate_id])
        row = cursor.fetchone()
        return None if row is None else dict(zip([d[0] for d in cursor.description], row, strict=True))
    finally:
        con.close()


def debates_of_outputs(ws: Workspace, output_ids: Sequence[str]) -> list[str]:
    """The debates the named outputs belong to, in id order (unknown output ids are ignored)."""
    con = open_corpus(ws)
    try:
        rows = con.execute(
            "SELECT DISTINCT debate_id FROM outputs WHERE list_contains(?, output_id) ORDER BY debate_id",
            [list(output_ids)],
        ).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def output_ids_of(ws: Workspace, debate_id: str) -> set[str]:
    """Every output id (summary, rewrite, translation) of the debate."""
    con = open_corpus(ws)
    try:
        return {r[0] for r in con.execute("SELECT output_id FROM outputs WHERE debate_id = ?", [debate_id]).fetchall()}
    finally:
        con.close()


def stored_output_ids(ws: Workspace) -> set[str]:
    """Every output id the corpus holds, of every debate."""
    con = open_corpus(ws)
    try:
        return {r[0] for r in con.execute("SELECT output_id FROM outputs").fetchall()}
    finally:
        con.close()
