"""Which debates the corpus holds, and what each has: the listings every stage loops over."""

from __future__ import annotations

import duckdb

from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace


def debate_ids(ws: Workspace) -> list[str]:
    """Every debate of the workspace, in id order."""
    con = open_corpus(ws)
    try:
        return [r[0] for r in con.execute("SELECT debate_id FROM debates ORDER BY debate_id").fetchall()]
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


def debate_has_votes(ws: Workspace, debate_id: str) -> bool:
    """Whether any vote of the debate is stored."""
    con = open_corpus(ws)
    try:
        return bool(con.execute("SELECT count(*) FROM votes WHERE debate_id = ?", [debate_id]).fetchone()[0])
    finally:
        con.close()
