"""Storing an output's rows: what :func:`dembias.ingest.outputs.store_outputs` checks ids against, and
making room for an output that is replaced (inside the caller's
:func:`~dembias.workspace.corpus.corpus_writer`). The rows themselves go in with
:func:`~dembias.workspace.corpus.insert_frame`."""

from __future__ import annotations

import duckdb

SQL_CONTRIBUTION_IDS_OF_DEBATE = "SELECT contribution_id FROM contributions WHERE debate_id = ?"
SQL_COUNT_OUTPUT = "SELECT count(*) FROM outputs WHERE output_id = ?"
#: The tables that hold an output's rows, in the order they are deleted (citations and units first).
OUTPUT_TABLES = ("citations", "output_units", "outputs")


def contribution_ids_of_debate(con: duckdb.DuckDBPyConnection, debate_id: str) -> set[str]:
    """The id of every contribution of the debate (rejected ones included)."""
    return {r[0] for r in con.execute(SQL_CONTRIBUTION_IDS_OF_DEBATE, [debate_id]).fetchall()}


def corpus_has_output(con: duckdb.DuckDBPyConnection, output_id: str) -> bool:
    """Whether the open corpus ``con`` holds an output of this id."""
    return bool(con.execute(SQL_COUNT_OUTPUT, [output_id]).fetchone()[0])


def delete_output(con: duckdb.DuckDBPyConnection, output_id: str) -> None:
    """Remove an output with its units and citations (inside the caller's transaction)."""
    for table in OUTPUT_TABLES:
        con.execute(f"DELETE FROM {table} WHERE output_id = ?", [output_id])
