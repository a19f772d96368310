"""A debate's summaries as stored in the corpus: the outputs, their units and their citations.

Each function reads one open corpus connection (the caller opens and closes it, so the three reads share it)
and returns a plain frame; only outputs of task ``summary`` are read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    import duckdb

SQL_SUMMARY_OUTPUTS = """
SELECT output_id, model, task, text, prompt, target_language
FROM outputs WHERE debate_id = ? AND task = 'summary' ORDER BY model, output_id
"""
SQL_SUMMARY_UNITS = """
SELECT u.output_id, u.unit_index, u.text, u.kind, u.section
FROM output_units u JOIN outputs o USING (output_id)
WHERE o.debate_id = ? AND o.task = 'summary' ORDER BY u.output_id, u.unit_index
"""
SQL_SUMMARY_CITATIONS = """
SELECT c.output_id, c.unit_index, c.contribution_id
FROM citations c JOIN outputs o USING (output_id)
WHERE o.debate_id = ? AND o.task = 'summary'
"""


def summary_outputs(con: duckdb.DuckDBPyConnection, debate_id: str) -> pd.DataFrame:
    """The debate's summaries: output_id, model, task, text, prompt, target_language (by model, then id)."""
    return con.execute(SQL_SUMMARY_OUTPUTS, [debate_id]).df()


def summary_units(con: duckdb.DuckDBPyConnection, debate_id: str) -> pd.DataFrame:
    """The units of the debate's summaries: output_id, unit_index, text, kind, section (in unit order)."""
    return con.execute(SQL_SUMMARY_UNITS, [debate_id]).df()


def summary_citations(con: duckdb.DuckDBPyConnection, debate_id: str) -> pd.DataFrame:
    """The contributions the units of the debate's summaries cite: output_id, unit_index, contribution_id."""
    return con.execute(SQL_SUMMARY_CITATIONS, [debate_id]).df()
