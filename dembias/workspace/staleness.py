"""Corpus fingerprints of a debate, and whether a run is stale: its debate changed since the run read it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import duckdb

from dembias.workspace.contribution_selection import selection_sql
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import RunInfo, list_runs

#: The contributions a fingerprint reads: the debate's, rejected ones included (the one selection,
#: :mod:`dembias.workspace.contribution_selection`).
FINGERPRINTED_CONTRIBUTIONS = selection_sql(
    ("contribution_id", "text", "is_rejected"), include_rejected=True, ids=False, debate_defaults=False
)

#: The fingerprint of a debate's corpus rows: contributions in id order (id, SHA-256 of the text,
#: rejected flag), then the votes' count, sum and number of voters. Computed in SQL, so it costs one
#: scan; any ``--replace`` or ``redact`` that changes a text, a moderation or the votes changes it.
SQL_DEBATE_FINGERPRINT = f"""
SELECT
    (SELECT count(*) FROM debates WHERE debate_id = $debate) AS n_debates,
    (SELECT count(*) || ':' || coalesce(sha256(string_agg(
        contribution_id || chr(31) || sha256(text) || chr(31) || CAST(is_rejected AS VARCHAR),
        chr(30) ORDER BY contribution_id)), '')
     FROM ({FINGERPRINTED_CONTRIBUTIONS}) AS selected) AS contributions,
    (SELECT count(*) || ':' || coalesce(sum(vote), 0) || ':' || count(DISTINCT participant_pid)
     FROM votes WHERE debate_id = $debate) AS votes
"""

FINGERPRINT_VERSION = "v1"


def debate_fingerprint(con: duckdb.DuckDBPyConnection, debate_id: str) -> str | None:
    """A short fingerprint of the rows of ``debate_id`` in an open corpus connection (None: no such debate).

    Stages pass it to :func:`write_run` (``fingerprint=``) as they read the debate.
    """
    n_debates, contributions, votes = con.execute(SQL_DEBATE_FINGERPRINT, {"debate": debate_id}).fetchone()
    if not n_debates:
        return None
    digest = hashlib.sha256(f"{contributions}|{votes}".encode()).hexdigest()[:16]
    return f"{FINGERPRINT_VERSION}:{digest}"


def workspace_fingerprint(ws: Workspace, debate_id: str) -> str | None:
    """:func:`debate_fingerprint` of ``debate_id`` in the workspace's corpus (opened read-only)."""
    con = open_corpus(ws)
    try:
        return debate_fingerprint(con, debate_id)
    finally:
        con.close()


def run_staleness(ws: Workspace, runs: Sequence[RunInfo] | None = None) -> dict[str, bool | None]:
    """Whether each run is stale: its debate changed since it read it (run_id -> True, False or None).

    A run that recorded ``input_fingerprint`` is stale when its debate's fingerprint differs now (or the
    debate is gone). A run without one (older runs, stages that do not record it yet) is stale when a
    run it was built on is; otherwise unknown (None). One fingerprint query per debate that one of
    these runs (or a run they were built on) read, on one read-only connection.
    """
    every = {r.run_id: r for r in list_runs(ws)}
    wanted = list(runs) if runs is not None else list(every.values())
    every.update({r.run_id: r for r in wanted})
    current: dict[str, str | None] = {}
    con: duckdb.DuckDBPyConnection | None = None

    def fingerprint_now(debate_id: str) -> str | None:
        nonlocal con
        if debate_id not in current:
            if con is None:
                if not ws.corpus_path.exists():
                    return None
                con = open_corpus(ws)
            current[debate_id] = debate_fingerprint(con, debate_id)
        return current[debate_id]

    found: dict[str, bool | None] = {}

    def resolve(run_id: str, seen: frozenset[str]) -> bool | None:
        if run_id in found:
            return found[run_id]
        run = every.get(run_id)
        if run is None or run_id in seen:
            return None
        recorded = run.manifest.get("input_fingerprint")
        if recorded and run.debate_id:
            verdict: bool | None = fingerprint_now(run.debate_id) != recorded
        else:
            upstream = [resolve(i, seen | {run_id}) for i in run.manifest.get("inputs", [])]
            verdict = True if any(u is True for u in upstream) else None
        found[run_id] = verdict
        return verdict

    try:
        return {r.run_id: resolve(r.run_id, frozenset()) for r in wanted}
    finally:
        if con is not None:
            con.close()


def is_stale(ws: Workspace, run: RunInfo) -> bool | None:
    """Whether the debate ``run`` read has changed since (texts, moderation or votes): True, False, or
    None when unknown (see :func:`run_staleness`)."""
    return run_staleness(ws, [run])[run.run_id]


def stale_runs(ws: Workspace, debate_id: str) -> list[RunInfo]:
    """The runs of ``debate_id`` that its current rows make stale (oldest first)."""
    runs = list_runs(ws, debate_id=debate_id)
    verdicts = run_staleness(ws, runs)
    return [r for r in runs if verdicts[r.run_id]]


def stale_warning(ws: Workspace, run: RunInfo, *, verdict: bool | None = None) -> str | None:
    """A sentence for the user when ``run`` is stale (with the command that refreshes it), else None."""
    stale = is_stale(ws, run) if verdict is None else verdict
    if not stale:
        return None
    return (
        f"{run.stage} run {run.run_id} describes debate {run.debate_id!r} as it was before it changed "
        f"(texts, moderation or votes); refresh it with: {refresh_hint(run)}"
    )


def refresh_hint(run: RunInfo) -> str:
    """The command that replaces a stale run with one on the debate as it is now."""
    if run.stage == "mapping":
        return f"dembias map --debate {run.debate_id}"
    return (
        f"rerun the {run.stage} stage on debate {run.debate_id} (e.g. dembias map --debate {run.debate_id}, then score)"
    )
