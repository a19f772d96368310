"""Which runs a view reads (pickers, the newest run of a stage) and their small tables, whole or for one output."""

from __future__ import annotations

import pandas as pd

from dembias.read.queries.connections import readable
from dembias.workspace.folder import Workspace
from dembias.workspace.identifiers import quote_identifier
from dembias.workspace.runs import RunInfo, list_runs, open_run


def run_options(ws: Workspace, *, stage: str, debate_id: str) -> list[RunInfo]:
    """Landed runs of ``stage`` for a debate, newest first (for run pickers)."""
    return list(reversed(list_runs(ws, stage=stage, debate_id=debate_id)))


def run_for(ws: Workspace, *, stage: str, debate_id: str, using: str | None = None) -> RunInfo | None:
    """The newest run of ``stage`` for a debate, preferring one whose inputs include run ``using``."""
    options = run_options(ws, stage=stage, debate_id=debate_id)
    if using:
        for info in options:
            if using in info.manifest.get("inputs", []):
                return info
    return options[0] if options else None


@readable
def run_table(ws: Workspace, run_id: str, table: str) -> pd.DataFrame:
    """A small table of one run (clusters, diagnostics, scores ...); never the embeddings."""
    if table == "embeddings":
        raise ValueError("embeddings are never loaded into a page")
    con = open_run(ws, run_id)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if table not in tables:
            return pd.DataFrame()
        return con.execute(f"SELECT * FROM {quote_identifier(table)}").df()
    finally:
        con.close()


@readable
def scored_table(ws: Workspace, run_id: str, table: str, *, output_id: str) -> pd.DataFrame:
    """Rows of one output from a per-output table of a scoring run (jr_violations, representatives, ...)."""
    con = open_run(ws, run_id)
    try:
        return con.execute(f"SELECT * FROM {quote_identifier(table)} WHERE output_id = ?", [output_id]).df()
    finally:
        con.close()


@readable
def interaction_runs(ws: Workspace, debate_id: str | None) -> list[RunInfo]:
    """Scored interactions runs (``dembias score interactions``) of this debate, then of all debates, newest first."""
    scored = [r for r in list_runs(ws, stage="interactions") if r.manifest.get("params", {}).get("scope")]
    scored.sort(key=lambda r: r.created_at, reverse=True)
    return [r for r in scored if r.debate_id == debate_id] + [r for r in scored if r.debate_id is None]
