"""What the one-page audit report of one summary shows, read from its runs (:func:`build_report`).

The verdict, headline scores, the summary's sentences, what it left out (topics with quotes, opinion groups with
their representative comment), coverage by group, the debate's rewrite fidelity, and the runs every number comes
from. Opens files read-only through :mod:`dembias.read.queries`.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import pandas as pd

from dembias.errors import DembiasError
from dembias.read import queries
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import RunInfo, list_runs

#: The headline metrics of the one-page report, in the reader's words (title, higher is better); the Overview's
#: scorecard has its own shorter column titles (`dembias.read.scorecard.HEADLINES`).
REPORT_HEADLINES = {
    "survival": ("Topics carried (survival)", True),
    "minority_topic_survival": ("Smallest topics carried (minority topic survival)", True),
    "uer_topics": ("Under-representation of topics (UER)", False),
    "uer_opinion_groups": ("Under-representation of opinion groups (UER)", False),
    "coverage": ("Contributions covered", True),
}


class ReportError(DembiasError):
    """The report cannot be made: unknown debate or output, no scoring run, or no browser to print it."""


@dataclass(frozen=True)
class AuditReport:
    """Everything the one-page report shows, with the runs it was read from."""

    debate_id: str
    debate_title: str
    output_id: str
    model: str
    verdict: str
    headlines: pd.DataFrame
    sentences: pd.DataFrame
    topics_left_out: pd.DataFrame
    groups_left_out: pd.DataFrame
    opinion_groups: pd.DataFrame
    group_coverage: pd.DataFrame
    fidelity: pd.DataFrame
    runs: list[RunInfo] = field(default_factory=list)
    created_at: str = ""


def _mapping_run_of(pluralism: RunInfo) -> str:
    mapping = [r for r in pluralism.manifest.get("inputs", []) if str(r).startswith("mapping-")]
    if not mapping:
        raise ReportError(f"pluralism run {pluralism.run_id} names no mapping run among its inputs")
    return mapping[0]


def resolve_runs(
    ws: Workspace, *, debate_id: str, pluralism_run: str | None = None, fidelity_run: str | None = None
) -> tuple[RunInfo, str, RunInfo | None]:
    """The pluralism run (default the debate's newest), its mapping run id, and the fidelity run (default newest)."""
    plural = [r for r in list_runs(ws, stage="pluralism", debate_id=debate_id)]
    if pluralism_run:
        plural = [r for r in plural if r.run_id == pluralism_run]
    if not plural:
        which = f"run {pluralism_run}" if pluralism_run else "run"
        raise ReportError(
            f"no pluralism scoring {which} for debate {debate_id!r}: dembias score pluralism --debate {debate_id}"
        )
    fidelity = list_runs(ws, stage="fidelity", debate_id=debate_id)
    if fidelity_run:
        fidelity = [r for r in fidelity if r.run_id == fidelity_run]
        if not fidelity:
            raise ReportError(f"no fidelity run {fidelity_run!r} for debate {debate_id!r}")
    return plural[-1], _mapping_run_of(plural[-1]), (fidelity[-1] if fidelity else None)


def left_out(
    ws: Workspace, *, debate_id: str, pluralism_run: str, mapping_run: str, output_id: str, n_quotes: int = 2
) -> pd.DataFrame:
    """The topics a summary dropped or under-represents (:func:`dembias.read.left_out.left_out`, the one list every view
    uses), each with its ``n_quotes`` most-voted contributions as quotes.

    Columns: cluster, label, size, p_s, p_t, ratio, status, is_minority, quotes (list of texts), n_contributions.
    Quotes follow the one privacy rule (:func:`dembias.small_cells.public_attributes`): texts are public.
    """
    from dembias.read.left_out import left_out as left_out_items
    from dembias.read.left_out import left_out_contributions

    items = left_out_items(ws, pluralism_run=pluralism_run, mapping_run=mapping_run, output_id=output_id)
    topics = items[items["kind"] == "topic"].rename(columns={"id": "cluster"}).reset_index(drop=True)
    pages = [
        left_out_contributions(
            ws, debate_id=debate_id, mapping_run=mapping_run, kind="topic", ident=int(c), limit=n_quotes
        )
        for c in topics["cluster"]
    ]
    topics["quotes"] = [page.rows["text"].astype(str).tolist() for page in pages]
    topics["n_contributions"] = [int(page.total) for page in pages]
    return topics.drop(columns=["key", "kind"])


def _groups_left_out(ws: Workspace, debate_id: str, run_id: str, output_id: str, groups: pd.DataFrame) -> pd.DataFrame:
    """Under-represented opinion groups with their most representative comment (a small group's rates are withheld
    by the scoring run; its comments, public contributions, are shown as on every view)."""
    if groups.empty:
        return groups
    under = groups[groups["under_represented"].astype(bool)].copy()
    reps = queries.scored_table(ws, run_id, "representatives", output_id=output_id)
    if under.empty or reps.empty:
        return under.assign(quote=None, quote_covered=None)
    reps = reps.sort_values("representativeness", ascending=False).drop_duplicates("vote_group")
    texts = queries.contribution_texts(ws, debate_id=debate_id, contribution_ids=reps["contribution_id"].tolist())
    reps = reps.merge(texts[["contribution_id", "text"]], on="contribution_id", how="left")
    under = under.merge(reps[["vote_group", "text", "covered"]], on="vote_group", how="left")
    under["quote"] = under["text"]  # contributions are public: the one quote rule (dembias.small_cells)
    return under.rename(columns={"covered": "quote_covered"}).drop(columns=["text"])


def _fidelity_rows(ws: Workspace, fidelity: RunInfo | None) -> pd.DataFrame:
    """Mean similarity of the debate's rewrites by language pair (with interval and n), from the fidelity run."""
    if fidelity is None:
        return pd.DataFrame()
    table = queries.run_table(ws, fidelity.run_id, "aggregates")
    if table.empty:
        return table
    keep = (table["metric"] == "similarity") & (table["dimension"] == "language_pair")
    return table[keep].sort_values("value").reset_index(drop=True)


def _headlines(scores: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for metric, (title, higher) in REPORT_HEADLINES.items():
        row = scores[scores["metric"] == metric]
        if row.empty:
            continue
        placebo = scores[scores["metric"] == f"placebo:{metric}"]
        rows.append(
            {
                "metric": metric,
                "title": title,
                "higher_is_better": higher,
                "value": float(row["value"].iloc[0]),
                "low": float(row["low"].iloc[0]) if pd.notna(row["low"].iloc[0]) else math.nan,
                "high": float(row["high"].iloc[0]) if pd.notna(row["high"].iloc[0]) else math.nan,
                "placebo": float(placebo["value"].iloc[0]) if not placebo.empty else math.nan,
            }
        )
    return pd.DataFrame(rows)


def _debate_title(ws: Workspace, debate_id: str) -> str:
    debates = queries.debates_table(ws)
    row = debates[debates["debate_id"] == debate_id]
    if row.empty:
        known = ", ".join(debates["debate_id"].astype(str)) or "none"
        raise ReportError(f"unknown debate {debate_id!r} (debates in the workspace: {known})")
    return str(row["title"].iloc[0] or "")


def build_report(
    ws: Workspace,
    *,
    debate_id: str,
    output_id: str,
    pluralism_run: str | None = None,
    fidelity_run: str | None = None,
    n_quotes: int = 2,
) -> AuditReport:
    """Read everything the one-page report of ``output_id`` shows (newest runs of the debate unless named)."""
    title = _debate_title(ws, debate_id)
    plural, mapping_run, fidelity = resolve_runs(
        ws, debate_id=debate_id, pluralism_run=pluralism_run, fidelity_run=fidelity_run
    )
    tables = {
        t: queries.scored_table(ws, plural.run_id, t, output_id=output_id)
        for t in ("outputs", "scores", "opinion_groups", "group_coverage")
    }
    if tables["outputs"].empty:
        raise ReportError(
            f"output {output_id!r} is not scored in run {plural.run_id} of debate {debate_id!r} "
            f"(its summaries: {', '.join(queries.run_table(ws, plural.run_id, 'outputs')['output_id'])})"
        )
    sentences = queries.summary_sentences(ws, pluralism_run=plural.run_id, mapping_run=mapping_run, output_id=output_id)
    groups = (
        tables["opinion_groups"].sort_values("vote_group") if not tables["opinion_groups"].empty else pd.DataFrame()
    )
    mapping = [r for r in list_runs(ws, stage="mapping", debate_id=debate_id) if r.run_id == mapping_run]
    return AuditReport(
        debate_id=debate_id,
        debate_title=title,
        output_id=output_id,
        model=str(tables["outputs"]["model"].iloc[0]),
        verdict=queries.verdict(ws, plural.run_id, output_id),
        headlines=_headlines(tables["scores"]),
        sentences=sentences,
        topics_left_out=left_out(
            ws,
            debate_id=debate_id,
            pluralism_run=plural.run_id,
            mapping_run=mapping_run,
            output_id=output_id,
            n_quotes=n_quotes,
        ),
        groups_left_out=_groups_left_out(ws, debate_id, plural.run_id, output_id, groups),
        opinion_groups=groups,
        group_coverage=tables["group_coverage"],
        fidelity=_fidelity_rows(ws, fidelity),
        runs=[*mapping, plural, *([fidelity] if fidelity else [])],
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
