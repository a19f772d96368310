"""Interaction logs as runs of stage ``interactions``: ``dembias ingest interactions`` and ``dembias score interactions``.

* :func:`ingest_interactions` validates a log (:mod:`dembias.fidelity.interaction_log`), pseudonymises its
  authors, scores it (:mod:`dembias.fidelity.interaction_scores`) and stores the ``interactions`` and
  ``report`` tables;
* :func:`score_interaction_log` scores one debate's interactions, or all of a log's, placed on the opinion
  map (``topic``, ``vote_group`` from each debate's latest mapping run) and stores ``interactions``,
  ``report``, ``rates``, ``pull`` and ``flagged`` (:mod:`dembias.fidelity.interaction_slices`).

A log may span several debates (the demo's does): a run of all of them has no debate id, so these are not
stage entry points of the ``run(ws, *, debate_id, ...)`` shape (:mod:`dembias.workspace.stage`). The corpus
schema is untouched.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from dembias.errors import DembiasError
from dembias.fidelity.interaction_log import Interaction, read_interactions
from dembias.fidelity.interaction_scores import score_interactions
from dembias.fidelity.interaction_slices import flagged_table, interaction_report, pull_table, rate_table
from dembias.small_cells import MIN_CELL
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import RunInfo, RunRecord, latest_run, read_run_table, write_run
from dembias.workspace.staleness import workspace_fingerprint

INTERACTIONS_STAGE = "interactions"

SCORED_TABLES = ("interactions", "report", "rates", "pull", "flagged")


def _read_pseudonymised(ws: Workspace, path: str | Path, *, encoding: str | None = None) -> list[Interaction]:
    """The log's interactions, authors pseudonymised with the workspace key (per debate, ``interactions`` when none)."""
    from dembias.ingest import pseudonymiser_factory

    records = read_interactions(path, encoding=encoding)
    if any(r.author is not None for r in records):
        factory = pseudonymiser_factory(ws)
        for r in records:
            if r.author is not None:
                r.author = factory(r.debate_id or "interactions").one(r.author)
    return records


def _attach_mapping_clusters(ws: Workspace, scored: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Fill missing clusters from each debate's latest mapping run (by contribution id)."""
    used = []
    scored = scored.copy()
    for debate in sorted({d for d in scored["debate_id"] if isinstance(d, str)}):
        run = latest_run(ws, stage="mapping", debate_id=debate)
        if run is None:
            continue
        assignments = read_run_table(ws, run.run_id, "assignments")
        cluster_of = dict(
            zip(assignments["contribution_id"].astype(str), assignments["cluster"].astype(str), strict=True)
        )
        mask = (scored["debate_id"] == debate) & scored["cluster"].isna()
        scored.loc[mask, "cluster"] = scored.loc[mask, "contribution_id"].map(cluster_of)
        used.append(run.run_id)
    return scored, used


def ingest_interactions(
    ws: Workspace,
    path: str | Path,
    *,
    embedder: Any = None,
    min_cell: int = MIN_CELL,
    encoding: str | None = None,
) -> tuple[RunInfo, pd.DataFrame]:
    """Validate a log, score it, and store it as a run of stage ``interactions``; returns (run, report).

    Authors are pseudonymised with the workspace key (per debate, ``interactions`` when none) before
    anything is stored; nothing in the corpus changes.
    """
    records = _read_pseudonymised(ws, path, encoding=encoding)
    scored = score_interactions(records, embedder=embedder)
    scored, mapping_runs = _attach_mapping_clusters(ws, scored)
    report = interaction_report(scored, min_cell=min_cell)
    debates = {r.debate_id for r in records}
    table = scored.copy()
    table["flag_kinds"] = table["flag_kinds"].map(list)
    info = write_run(
        ws,
        stage=INTERACTIONS_STAGE,
        debate_id=debates.pop() if len(debates) == 1 else None,
        tables={"interactions": table, "report": report},
        record=RunRecord(
            params={
                "source": str(Path(path).resolve()),
                "embedder": getattr(embedder, "model_id", None),
                "embedder_revision": getattr(embedder, "revision", None),
                "min_cell": min_cell,
            },
            inputs=mapping_runs,
        ),
    )
    return info, report


def _attach_opinion_context(ws: Workspace, scored: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Add ``topic`` (the contribution's cluster in its debate's latest mapping run) and ``vote_group`` (the
    vote group of the contribution's author in that run); values are prefixed with the debate when the log
    spans several debates. Interactions whose contribution is not in the debate get neither."""
    from dembias.workspace.corpus import corpus_reader

    scored = scored.copy()
    scored["topic"] = None
    scored["vote_group"] = None
    debates = sorted({d for d in scored["debate_id"] if isinstance(d, str)})
    used = []
    for debate in debates:
        run = latest_run(ws, stage="mapping", debate_id=debate)
        if run is None:
            continue
        used.append(run.run_id)
        prefix = f"{debate}:" if len(debates) > 1 else ""
        mask = scored["debate_id"] == debate
        ids = scored.loc[mask, "contribution_id"].astype(str)
        assignments = read_run_table(ws, run.run_id, "assignments")
        topic_of = dict(zip(assignments["contribution_id"].astype(str), assignments["cluster"], strict=True))
        scored.loc[mask, "topic"] = [f"{prefix}{topic_of[c]}" if c in topic_of else None for c in ids]
        try:
            groups = read_run_table(ws, run.run_id, "vote_groups")
        except Exception:  # a debate without votes has no vote groups
            groups = pd.DataFrame(columns=["participant_pid", "vote_group"])
        if groups.empty:
            continue
        group_of = dict(zip(groups["participant_pid"].astype(str), groups["vote_group"], strict=True))
        with corpus_reader(ws, {}) as con:
            authors = select_contributions(
                con, debate_id=debate, include_rejected=True, columns=("contribution_id", "author_pid")
            )
        author_of = dict(zip(authors["contribution_id"].astype(str), authors["author_pid"], strict=True))
        scored.loc[mask, "vote_group"] = [
            f"{prefix}{group_of[author_of[c]]}" if author_of.get(c) in group_of else None for c in ids
        ]
    return scored, used


def _ingested_rows(ws: Workspace, debate_id: str | None) -> pd.DataFrame:
    """The scored interactions of the latest ingested ``interactions`` run that holds the debate."""
    from dembias.workspace.runs import list_runs

    scored = None
    for run in sorted(list_runs(ws, stage=INTERACTIONS_STAGE), key=lambda r: r.created_at, reverse=True):
        if run.manifest.get("params", {}).get("scope"):
            continue  # a scored run, not an ingested log
        table = read_run_table(ws, run.run_id, "interactions")
        if debate_id is None or (table["debate_id"] == debate_id).any():
            scored = table
            break
    if scored is None:
        where = f" for debate {debate_id!r}" if debate_id else ""
        raise DembiasError(f"no interaction log ingested{where}: run `dembias ingest interactions LOG` first")
    scored = scored.copy()
    scored["flag_kinds"] = scored["flag_kinds"].map(lambda kinds: [str(k) for k in kinds])
    if debate_id is not None:
        scored = scored[scored["debate_id"] == debate_id].reset_index(drop=True)
        if scored.empty:
            raise DembiasError(f"the interaction log has no interaction of debate {debate_id!r}")
    return scored


def _log_rows(ws: Workspace, log: str | Path, debate_id: str | None, *, embedder: Any) -> pd.DataFrame:
    """The interactions of the log file (of one debate, when given), scored; authors pseudonymised."""
    scored = score_interactions(_read_pseudonymised(ws, log), embedder=embedder)
    if debate_id is not None:
        scored = scored[scored["debate_id"] == debate_id].reset_index(drop=True)
        if scored.empty:
            raise DembiasError(f"{log}: no interaction of debate {debate_id!r}")
    return scored


#: The slices of a scored run: the log's own labels, then the opinion map's.
SCORED_RUN_DIMENSIONS = ("language", "country", "cluster", "topic", "vote_group")


def _scored_tables(scored: pd.DataFrame, *, min_cell: int, seed: int, n_resamples: int) -> dict[str, pd.DataFrame]:
    """The tables of a scored run, in the order of :data:`SCORED_TABLES`."""
    rates = rate_table(scored, dimensions=SCORED_RUN_DIMENSIONS, min_cell=min_cell)
    pull = pull_table(scored, dimensions=SCORED_RUN_DIMENSIONS, min_cell=min_cell, seed=seed, n_resamples=n_resamples)
    return {
        "interactions": scored.assign(flag_kinds=scored["flag_kinds"].map(list)),
        "report": interaction_report(scored, min_cell=min_cell),
        "rates": rates,
        "pull": pull,
        "flagged": flagged_table(scored, rates),
    }


def score_interaction_log(
    ws: Workspace,
    *,
    debate_id: str | None = None,
    log: str | Path | None = None,
    embedder: Any = None,
    min_cell: int = MIN_CELL,
    seed: int = 0,
    n_resamples: int = 2000,
) -> tuple[RunInfo, dict[str, pd.DataFrame]]:
    """Score interactions (one debate, or all) and store them as a run of stage ``interactions``.

    Tables: ``interactions`` (one row each, with ``topic`` and ``vote_group``), ``report`` (as written by
    ``dembias ingest interactions``), ``rates`` (:func:`~dembias.fidelity.interaction_slices.rate_table`),
    ``pull`` (:func:`~dembias.fidelity.interaction_slices.pull_table`) and ``flagged``
    (:func:`~dembias.fidelity.interaction_slices.flagged_table`). Reads ``log`` when given (authors are
    pseudonymised with the workspace key), else the latest ingested log that holds the debate.
    """
    scored = _ingested_rows(ws, debate_id) if log is None else _log_rows(ws, log, debate_id, embedder=embedder)
    # the corpus version the opinion context (clusters, vote groups) was read from, when the debate is there
    fingerprint = workspace_fingerprint(ws, debate_id) if debate_id and ws.corpus_path.exists() else None
    scored, mapping_runs = _attach_opinion_context(ws, scored)
    tables = _scored_tables(scored, min_cell=min_cell, seed=seed, n_resamples=n_resamples)
    simulated = bool(scored["labels"].map(lambda s: bool(json.loads(s).get("simulated"))).any())
    info = write_run(
        ws,
        stage=INTERACTIONS_STAGE,
        debate_id=debate_id,
        tables=tables,
        record=RunRecord(
            params={
                "source": str(Path(log).resolve()) if log is not None else "latest ingested log",
                "scope": debate_id or "all debates",
                "embedder": getattr(embedder, "model_id", None),
                "min_cell": min_cell,
                "seed": seed,
                "n_resamples": n_resamples,
                "interval": "Wilson 95% (rates); percentile bootstrap 95% (pull)",
                "simulated_outcomes": simulated,
            },
            inputs=mapping_runs,
            fingerprint=fingerprint,
        ),
    )
    return info, tables


def demo_stage(ws: Workspace, manifest: dict[str, Any], progress: Any) -> None:
    """Demo build: ingest each interaction log of ``manifest["interactions"]`` and score it (all debates).

    No embedder (character pull only), so the stage adds about a second to the build.
    """
    for path in manifest.get("interactions", []):
        progress(f"interactions {Path(path).name}")
        ingest_interactions(ws, path, embedder=None)
        score_interaction_log(ws, log=path, seed=0)
