"""The texts redaction reads and rewrites in the corpus, and each debate's ``extra`` where it records the run.

:mod:`dembias.ingest.redact` finds personal data and decides what to replace; the statements here read a
debate's texts per table (contributions, outputs, output units, output prompts), write the redacted texts
back through a temporary staging table, and list or update the debates' ``extra`` JSON. They run on the
connection the caller opened (a read-only one for a dry run, a ``corpus_writer`` transaction otherwise).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from dembias.workspace.contribution_selection import selection_sql
from dembias.workspace.corpus import insert_frame

#: The contributions redaction reads: every one of the debate, rejected ones included (the one selection).
SQL_CONTRIBUTION_TEXTS = selection_sql(
    ("contribution_id", "text"), include_rejected=True, ids=False, debate_defaults=False
)

#: Texts that redaction rewrites: (table, key columns, debate filter).
SQL_TEXTS = {
    "contributions": f"SELECT contribution_id AS key, text FROM ({SQL_CONTRIBUTION_TEXTS})",
    "outputs": "SELECT output_id AS key, text FROM outputs WHERE debate_id = $debate",
    "output_units": (
        "SELECT u.output_id || chr(31) || CAST(u.unit_index AS VARCHAR) AS key, u.text FROM output_units u "
        "JOIN outputs o USING (output_id) WHERE o.debate_id = $debate"
    ),
    # the prompt a generated output was made from quotes the contributions it rewrote or summarised
    "output_prompts": (
        "SELECT output_id AS key, prompt AS text FROM outputs WHERE debate_id = $debate AND prompt IS NOT NULL"
    ),
}
SQL_UPDATE = {
    "contributions": (
        "UPDATE contributions SET text = r.text FROM {staging} r "
        "WHERE contributions.debate_id = ? AND contributions.contribution_id = r.key"
    ),
    "outputs": "UPDATE outputs SET text = r.text FROM {staging} r WHERE outputs.debate_id = ? AND outputs.output_id = r.key",
    "output_units": (
        "UPDATE output_units SET text = r.text FROM {staging} r "
        "WHERE output_units.output_id || chr(31) || CAST(output_units.unit_index AS VARCHAR) = r.key"
    ),
    "output_prompts": (
        "UPDATE outputs SET prompt = r.text FROM {staging} r WHERE outputs.debate_id = ? AND outputs.output_id = r.key"
    ),
}
SQL_DEBATES = "SELECT debate_id, extra FROM debates ORDER BY debate_id"
SQL_SET_EXTRA = "UPDATE debates SET extra = ? WHERE debate_id = ?"

#: The tables redaction goes through, in this order (the keys of its counts of texts changed).
REDACTED_TABLES: tuple[str, ...] = tuple(SQL_TEXTS)


def texts_to_redact(con: duckdb.DuckDBPyConnection, table: str, debate_id: str) -> list[tuple[str, str]]:
    """The (key, text) rows of one of :data:`REDACTED_TABLES` for the debate (contributions in id order)."""
    return con.execute(SQL_TEXTS[table], {"debate": debate_id}).fetchall()


def write_redacted_texts(con: duckdb.DuckDBPyConnection, table: str, debate_id: str, redacted: pd.DataFrame) -> None:
    """Replace the texts of ``table`` by the ``redacted`` frame's (columns ``key``, ``text``, keys as
    :func:`texts_to_redact` gives them), through a temporary staging table dropped afterwards."""
    staging = f"redacted_{table}"
    con.execute(f"CREATE OR REPLACE TEMP TABLE {staging} (key VARCHAR, text VARCHAR)")
    insert_frame(con, staging, redacted)
    sql = SQL_UPDATE[table].format(staging=staging)
    con.execute(sql, [debate_id] if "?" in sql else [])
    con.execute(f"DROP TABLE {staging}")


def debates_and_extras(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str | None]]:
    """Every debate's (id, ``extra`` JSON text or None), in id order."""
    return con.execute(SQL_DEBATES).fetchall()


def set_debate_extra(con: duckdb.DuckDBPyConnection, debate_id: str, extra_json: str) -> None:
    """Store ``extra_json`` as the debate's ``extra``."""
    con.execute(SQL_SET_EXTRA, [extra_json, debate_id])
