"""What a summary left out: its dropped and under-represented topics and opinion groups, and their contributions.

Pure read functions over a workspace (no streamlit), for the dashboard's "What it left out" page, the map's
selection bars and the one-page report:

* :func:`left_out` lists the topics (opinion clusters of the map) and opinion groups (vote groups) a scored
  summary drops or under-represents, with the single status definition
  (:func:`dembias.pluralism.topics.representation_status`);
* :func:`left_out_contributions` pages through the contributions of one of them (text first, searchable,
  ``limit``/``offset``), with country, language and how each vote group voted on each;
* :func:`vote_rates` says how each vote group voted on a set of contributions (agree, disagree, pass, with
  their n), the Polis-style bars of the map and of this view;
* :func:`slice_breakdown` counts a set of contributions by country or language.

A topic's contributions are the map's cluster members. An opinion group's contributions are those the group
agrees with clearly more than every other group (:func:`group_contribution_ids`: the rule by which a summary
sentence "speaks for" a group, :func:`dembias.pluralism.opinion_groups.unit_stances`, applied to each
contribution alone). Privacy, one rule on every view (:mod:`dembias.small_cells`, docs/privacy.md): texts
are shown; a contribution's country and language only when at least k contributors of the debate share
them; counts and vote rates of a cell with fewer than k contributors (voters) are withheld.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dembias.pluralism.opinion_groups import unit_stances
from dembias.pluralism.topics import NOISE, representation_status
from dembias.read import queries
from dembias.small_cells import MIN_CELL, public_attributes, small_cells
from dembias.workspace.folder import Workspace

#: What a left-out item is: a topic (cluster of what was written) or an opinion group (vote group).
KINDS = ("topic", "group")
#: Contributions shown per page by default.
PAGE_SIZE = 25

LEFT_OUT_COLUMNS = [
    "key",
    "kind",
    "id",
    "label",
    "status",
    "is_minority",
    "size",
    "p_s",
    "p_t",
    "ratio",
]


def item_key(kind: str, ident: int) -> str:
    """The stable key of a left-out item, as used in URLs: ``topic:3``, ``group:1``."""
    if kind not in KINDS:
        raise ValueError(f"a left-out item is a topic or a group, not {kind!r}")
    return f"{kind}:{int(ident)}"


def parse_key(key: str) -> tuple[str, int]:
    """``(kind, id)`` of a key made by :func:`item_key`; ValueError naming the key when it is not one."""
    kind, _, ident = str(key).partition(":")
    if kind not in KINDS or not ident.lstrip("-").isdigit():
        raise ValueError(f"not a left-out item key: {key!r} (expected 'topic:N' or 'group:N')")
    return kind, int(ident)


def _topics(ws: Workspace, *, pluralism_run: str, mapping_run: str, output_id: str) -> pd.DataFrame:
    coverage = queries.cluster_coverage(ws, pluralism_run=pluralism_run, mapping_run=mapping_run, output_id=output_id)
    topics = coverage[coverage["cluster"] != NOISE].copy()
    if topics.empty:
        return pd.DataFrame(columns=LEFT_OUT_COLUMNS)
    topics["status"] = representation_status(topics["covered"], topics["ratio"]).to_numpy()
    topics["id"] = topics["cluster"].astype(int)
    topics["kind"] = "topic"
    topics["label"] = [
        f"topic {c}: {label}" if label else f"topic {c}"
        for c, label in zip(topics["id"], topics["label"].fillna(""), strict=True)
    ]
    return topics


def _groups(ws: Workspace, *, pluralism_run: str, mapping_run: str, output_id: str) -> pd.DataFrame:
    groups = queries.scored_table(ws, pluralism_run, "opinion_groups", output_id=output_id)
    if groups.empty:
        return pd.DataFrame(columns=LEFT_OUT_COLUMNS)
    groups = groups.copy()
    groups["status"] = representation_status(groups["p_t"] > 0, groups["ratio"]).to_numpy()
    groups["id"] = groups["vote_group"].astype(int)
    groups["kind"] = "group"
    groups["label"] = [
        f"opinion group {g} ({n} participants)" for g, n in zip(groups["id"], groups["n_participants"], strict=True)
    ]
    smallest = groups["n_participants"].min()
    groups["is_minority"] = (groups["n_participants"] == smallest) & (len(groups) > 1)
    members = group_members(ws, mapping_run=mapping_run)["vote_group"].value_counts()
    groups["size"] = [int(members.get(g, 0)) for g in groups["id"]]
    return groups


def left_out(ws: Workspace, *, pluralism_run: str, mapping_run: str, output_id: str) -> pd.DataFrame:
    """The topics and opinion groups that the summary ``output_id`` drops or under-represents.

    One row each, topics first, then within a kind dropped before under-represented and minority first.
    Columns: ``key`` (:func:`item_key`), ``kind`` ("topic" or "group"), ``id`` (cluster or vote group),
    ``label``, ``status`` ("dropped" or "under-represented"), ``is_minority`` (a minority topic: the
    smallest clusters holding 20% of contributions; a minority group: the smallest vote group), ``size``
    (its contributions: the cluster's members, or the contributions the group agrees with clearly more
    than the others), ``p_s`` (share of the debate: contributions for a topic, participants for a group),
    ``p_t`` (share of the summary) and ``ratio`` (p_t / p_s). Empty when the summary leaves nothing out.
    """
    args = {"pluralism_run": pluralism_run, "mapping_run": mapping_run, "output_id": output_id}
    frames = [f for f in (_topics(ws, **args), _groups(ws, **args)) if not f.empty]
    if not frames:
        return pd.DataFrame(columns=LEFT_OUT_COLUMNS)
    items = pd.concat([f.assign(key=[item_key(k, i) for k, i in zip(f["kind"], f["id"], strict=True)]) for f in frames])
    items = items[items["status"] != "represented"]
    items = items.assign(
        _kind=items["kind"].map({k: i for i, k in enumerate(KINDS)}),
        _dropped=items["status"] != "dropped",
        is_minority=items["is_minority"].astype(bool),
    )
    items = items.sort_values(["_kind", "_dropped", "is_minority", "size"], ascending=[True, True, False, False])
    items = items[LEFT_OUT_COLUMNS].reset_index(drop=True)
    return items.astype({"id": "int64", "size": "int64", "p_s": "float64", "p_t": "float64", "ratio": "float64"})


def group_members(ws: Workspace, *, mapping_run: str, margin: float = 0.2) -> pd.DataFrame:
    """Each contribution that one opinion group agrees with at least ``margin`` more than every other group.

    The same rule as a summary sentence speaking for a group (:func:`dembias.pluralism.opinion_groups.unit_stances`),
    applied to each contribution alone, on the mapping run's ``comment_group_votes``. Columns
    ``contribution_id``, ``vote_group``, sorted by id; empty without votes.
    """
    votes = queries.run_table(ws, mapping_run, "comment_group_votes")
    if votes.empty:
        return pd.DataFrame({"contribution_id": pd.Series(dtype=object), "vote_group": pd.Series(dtype="int64")})
    ids = sorted(votes["contribution_id"].astype(str).unique())
    links = pd.DataFrame({"unit_index": np.arange(len(ids)), "contribution_id": ids})
    stances = unit_stances(links, votes, margin=margin)
    speaking = stances[stances["stance"] == "group"]
    return pd.DataFrame(
        {"contribution_id": [ids[i] for i in speaking["unit_index"]], "vote_group": speaking["vote_group"].to_numpy()}
    )


def group_contribution_ids(ws: Workspace, *, mapping_run: str, vote_group: int, margin: float = 0.2) -> list[str]:
    """The contributions of opinion group ``vote_group`` (:func:`group_members`), sorted."""
    members = group_members(ws, mapping_run=mapping_run, margin=margin)
    return members.loc[members["vote_group"] == int(vote_group), "contribution_id"].tolist()


def _slice_ids(ws: Workspace, *, mapping_run: str, kind: str, ident: int) -> list[str] | None:
    """The contribution ids of a group (None for a topic: it is filtered by cluster in SQL)."""
    if kind not in KINDS:
        raise ValueError(f"a left-out item is a topic or a group, not {kind!r}")
    return None if kind == "topic" else group_contribution_ids(ws, mapping_run=mapping_run, vote_group=ident)


@dataclass(frozen=True)
class LeftOutPage:
    """One page of a left-out item's contributions.

    ``rows``: columns ``contribution_id``, ``text``, ``country``, ``language`` (withheld by the one quote rule),
    ``cluster``, ``cluster_label``, ``n_votes``, then per vote group g ``group g agree``, ``group g disagree``,
    ``group g pass`` (shares of the group's votes on that contribution; empty when fewer than k of the
    group voted on it) and ``group g n`` (the group's votes on it). ``total``: contributions matching
    the search (all pages); ``offset`` and ``limit`` as asked.
    """

    rows: pd.DataFrame
    total: int
    offset: int
    limit: int

    @property
    def n_pages(self) -> int:
        """Pages of ``limit`` rows that ``total`` needs (at least 1)."""
        return max(1, -(-self.total // self.limit))


def left_out_contributions(
    ws: Workspace,
    *,
    debate_id: str,
    mapping_run: str,
    kind: str,
    ident: int,
    search: str = "",
    limit: int = PAGE_SIZE,
    offset: int = 0,
    min_cell: int = MIN_CELL,
) -> LeftOutPage:
    """One page of the contributions of topic (``kind="topic"``, cluster ``ident``) or opinion group ``ident``.

    Most-voted first (then by id). ``search``: a case-insensitive substring of the text (a parameter,
    never SQL). ``limit`` rows from ``offset``. See :class:`LeftOutPage` for the columns.
    """
    if limit < 1 or offset < 0:
        raise ValueError(f"limit must be at least 1 and offset at least 0, got limit={limit}, offset={offset}")
    ids = _slice_ids(ws, mapping_run=mapping_run, kind=kind, ident=ident)
    cluster = int(ident) if kind == "topic" else None
    with queries.corpus_with_runs(ws, {"m": mapping_run}) as con:
        total, rows = queries.left_out_slice(
            con,
            debate_id=debate_id,
            cluster=cluster,
            ids=ids,
            search=(search or "").strip(),
            limit=limit,
            offset=offset,
        )
        rows = public_attributes(rows, queries.attribute_cells_on(con, debate_id), min_cell=min_cell)
        votes = queries.mapped_comment_votes(con, rows["contribution_id"].tolist())
    return LeftOutPage(_with_votes(rows, votes, min_cell=min_cell), total, int(offset), int(limit))


def _with_votes(rows: pd.DataFrame, votes: pd.DataFrame, *, min_cell: int) -> pd.DataFrame:
    """``rows`` with each group's agree/disagree/pass shares and n on each contribution (small n: no shares)."""
    out = rows.copy()
    for group, part in votes.groupby("vote_group", sort=True):
        part = part.set_index("contribution_id")
        seen = part["n_seen"].astype(float)
        shown = ~small_cells(seen, min_cell=min_cell)
        ids = out["contribution_id"]
        for vote in ("agree", "disagree", "pass"):
            share = (part[f"n_{vote}"] / seen.where(seen > 0)).where(shown)
            out[f"group {int(group)} {vote}"] = ids.map(share).astype(float)
        out[f"group {int(group)} n"] = ids.map(part["n_seen"]).fillna(0).astype("int64")
    return out


VOTE_RATE_COLUMNS = ["vote_group", "n_voters", "n_votes", "agree", "disagree", "pass", "suppressed"]


def vote_rates(
    ws: Workspace, *, debate_id: str, mapping_run: str, contribution_ids: list[str], min_cell: int = MIN_CELL
) -> pd.DataFrame:
    """How each vote group voted on ``contribution_ids``: one row per group of the mapping run.

    Columns: ``vote_group``, ``n_voters`` (distinct voters of the group on them), ``n_votes``, ``agree``,
    ``disagree``, ``pass`` (shares of the group's votes, last vote per voter and contribution) and
    ``suppressed`` (fewer than ``min_cell`` voters: shares left empty). Groups that cast no vote on them
    have n 0 and are suppressed. Empty without vote groups (a debate without votes).
    """
    with queries.corpus_with_runs(ws, {"m": mapping_run}) as con:
        if not queries.attached_table_exists(con, "m", "vote_groups"):
            return pd.DataFrame(columns=VOTE_RATE_COLUMNS)
        groups = queries.mapped_vote_groups(con)
        rates = queries.group_vote_rates(con, debate_id=debate_id, contribution_ids=contribution_ids)
    rates = rates.set_index("vote_group").reindex(groups)
    rates[["n_voters", "n_votes"]] = rates[["n_voters", "n_votes"]].fillna(0)
    rates = rates.reset_index().rename(columns={"index": "vote_group"})
    rates["suppressed"] = small_cells(rates["n_voters"], min_cell=min_cell)
    for column in ("agree", "disagree", "pass"):
        rates[column] = rates[column].astype(float).where(~rates["suppressed"])
    return rates[VOTE_RATE_COLUMNS].astype({"vote_group": "int64", "n_voters": "int64", "n_votes": "int64"})


def item_contribution_ids(ws: Workspace, *, mapping_run: str, kind: str, ident: int) -> list[str]:
    """Every contribution id of a topic (cluster members) or of an opinion group (:func:`group_contribution_ids`)."""
    ids = _slice_ids(ws, mapping_run=mapping_run, kind=kind, ident=ident)
    if ids is not None:
        return ids
    return queries.cluster_member_ids(ws, mapping_run=mapping_run, cluster=ident)


def slice_breakdown(
    ws: Workspace, *, debate_id: str, contribution_ids: list[str], by: str, min_cell: int = MIN_CELL
) -> pd.DataFrame:
    """``contribution_ids`` counted by ``by`` (country or language): value, n (empty when small), suppressed."""
    frame = queries.attribute_breakdown(ws, debate_id=debate_id, contribution_ids=contribution_ids, by=by)
    frame["suppressed"] = small_cells(frame["n"], frame["n_authors"], min_cell=min_cell)
    frame["n"] = frame["n"].astype("Int64").mask(frame["suppressed"])
    return frame.drop(columns=["n_authors"])
