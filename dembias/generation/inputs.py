"""What a generation run reads from the corpus: its contributions (stratified, sampled), topic and ids."""

from __future__ import annotations

import pandas as pd

from dembias.errors import DembiasError
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.corpus import open_corpus
from dembias.workspace.debates import corpus_has_debate, debate_record
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import latest_run, read_run_table


def stratified_contributions(
    ws: Workspace,
    debate_id: str,
    *,
    limit: int | None = None,
    sample_per_cluster: int | None = None,
    strata: str = "auto",
    seed: int = 0,
    include_rejected: bool = False,
) -> tuple[pd.DataFrame, str]:
    """Contributions to generate from, ordered by id, and the stratification used.

    ``sample_per_cluster`` draws up to that many contributions from every stratum (seeded), so small
    clusters are present. ``strata``: ``"cluster"`` (the debate's latest mapping run, table
    ``assignments``), ``"vote-group"`` (the Polis published group of the author), ``"none"``, or
    ``"auto"`` (cluster when a mapping run exists, else vote-group). ``limit`` keeps the first N after
    sampling. Returns (frame with contribution_id, text, language, stratum; stratification name).
    """
    con = open_corpus(ws)
    try:
        if not corpus_has_debate(con, debate_id):
            raise DembiasError(f"unknown debate {debate_id!r}; ingest it first")
        frame = select_contributions(
            con,
            debate_id=debate_id,
            include_rejected=include_rejected,
            columns=("contribution_id", "text", "language", "published_group"),
            debate_defaults=False,
            numeric_order=True,
        )
    finally:
        con.close()
    used = "none"
    stratum = pd.Series(["all"] * len(frame), dtype=object)
    if strata not in ("auto", "cluster", "vote-group", "none"):
        raise DembiasError(f"unknown stratification {strata!r}; expected auto, cluster, vote-group or none")
    if strata in ("auto", "cluster"):
        run = latest_run(ws, stage="mapping", debate_id=debate_id)
        if run is not None:
            assignments = read_run_table(ws, run.run_id, "assignments")
            clusters = dict(zip(assignments["contribution_id"].astype(str), assignments["cluster"], strict=True))
            stratum = frame["contribution_id"].map(lambda c: f"cluster {clusters.get(c, 'unmapped')}")
            used = f"cluster ({run.run_id})"
        elif strata == "cluster":
            raise DembiasError(f"no mapping run for debate {debate_id!r}; run `dembias map` first")
    if used == "none" and strata in ("auto", "vote-group"):
        stratum = frame["published_group"].map(lambda g: "no group" if pd.isna(g) else f"group {int(g)}")
        used = "vote-group (author's published group)"
    frame["stratum"] = stratum.astype(str).to_numpy()
    if sample_per_cluster is not None:
        parts = [
            part.sample(n=min(sample_per_cluster, len(part)), random_state=seed)
            for _, part in frame.groupby("stratum", sort=True)
        ]
        frame = pd.concat(parts).sort_index() if parts else frame.iloc[:0]
    if limit is not None:
        frame = frame.head(limit)
    return frame[["contribution_id", "text", "language", "stratum"]].reset_index(drop=True), used


def debate_topic(ws: Workspace, debate_id: str) -> str:
    """The debate's question when it is a short question, else its title (for summary prompts)."""
    record = debate_record(ws, debate_id)
    if record is None:
        raise DembiasError(f"unknown debate {debate_id!r}; ingest it first")
    title = record["title"]
    question = " ".join((record.get("question") or "").split())
    if question.endswith("?") and len(question) <= 300:
        return question
    return title


def debate_contribution_ids(ws: Workspace, debate_id: str) -> list[str]:
    """Every contribution id of the debate, rejected ones too (the citations a summary may make)."""
    con = open_corpus(ws)
    try:
        frame = select_contributions(con, debate_id=debate_id, include_rejected=True, columns=("contribution_id",))
    finally:
        con.close()
    return [str(c) for c in frame["contribution_id"]]
