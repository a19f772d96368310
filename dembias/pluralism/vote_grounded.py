"""Opinion groups and the vote-grounded checks of one summary (empty without the debate's votes).

Group-aware consensus, each contribution's vote group, each group's most representative comment and
whether it survives, whether the comments a ``common_ground`` unit cites are agreed by every group,
and the opinion-group rows and placebo of the ``scores`` table. Definitions: :mod:`dembias.pluralism.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from dembias.pluralism.opinion_groups import (
    OPINION_GROUP_COLUMNS,
    STANCE_COLUMNS,
    GroupVotes,
    opinion_group_table,
    unit_stances,
)
from dembias.pluralism.placebo import placebo_headlines
from dembias.pluralism.score_rows import NAN, ScoreRow, widened_note
from dembias.pluralism.topics import TopicCells

if TYPE_CHECKING:
    from dembias.pluralism.metrics import SummaryBase


def group_aware_consensus(comment_group_votes: pd.DataFrame) -> pd.DataFrame:
    """Polis group-aware consensus GAC(c) = Π_g (A_g + 1) / (S_g + 2) per comment.

    A_g is the number of agrees of group g on the comment, S_g the number of its members who voted on
    it (agree, disagree or pass). Input columns: contribution_id, vote_group, n_agree, n_disagree,
    n_pass. Returns contribution_id, gac sorted by contribution_id.
    """
    frame = comment_group_votes
    seen = frame["n_agree"] + frame["n_disagree"] + frame["n_pass"]
    factor = (frame["n_agree"] + 1.0) / (seen + 2.0)
    gac = factor.groupby(frame["contribution_id"].astype(str)).prod()
    return gac.rename("gac").rename_axis("contribution_id").reset_index().sort_values("contribution_id")


def contribution_vote_groups(comment_group_votes: pd.DataFrame) -> pd.Series:
    """The vote group that agrees most with each contribution (contribution_id -> group).

    Highest ``agree_rate``; ties go to the lowest group id; rows with no vote or a NaN rate are skipped,
    so a contribution no group voted on is absent from the result.
    """
    frame = comment_group_votes.copy()
    frame["contribution_id"] = frame["contribution_id"].astype(str)
    total = frame["n_agree"] + frame["n_disagree"] + frame["n_pass"]
    frame = frame[(total > 0) & frame["agree_rate"].notna()]
    frame = frame.sort_values(["contribution_id", "agree_rate", "vote_group"], ascending=[True, False, True])
    best = frame.drop_duplicates("contribution_id")
    return best.set_index("contribution_id")["vote_group"]


@dataclass
class VoteGrounded:
    """Opinion groups and the vote-grounded checks (empty without the debate's votes)."""

    vote_group: pd.Series
    representatives: pd.DataFrame
    common_ground: pd.DataFrame
    stances: pd.DataFrame
    opinion: pd.DataFrame
    opinion_head: dict[str, tuple[float, float, float, bool]] = field(default_factory=dict)
    group_votes: GroupVotes | None = None
    members: pd.Series | None = None

    @classmethod
    def build(
        cls,
        base: SummaryBase,
        comment_group_votes: pd.DataFrame | None,
        consensus: pd.DataFrame | None,
        participant_groups: pd.Series | None,
        units: pd.DataFrame | None,
        **options: object,
    ) -> VoteGrounded:
        empty = cls(
            vote_group=pd.Series(np.nan, index=base.ids.to_numpy()),
            representatives=pd.DataFrame(columns=["vote_group", "contribution_id", "representativeness", "covered"]),
            common_ground=pd.DataFrame(
                columns=["unit_index", "contribution_id", "gac", "min_agree_rate", "agreed_by_all"]
            ),
            stances=pd.DataFrame(columns=STANCE_COLUMNS),
            opinion=pd.DataFrame(columns=OPINION_GROUP_COLUMNS),
        )
        if comment_group_votes is None or comment_group_votes.empty:
            return empty
        gac_threshold = options.pop("gac_threshold")
        cgv = comment_group_votes.assign(contribution_id=comment_group_votes["contribution_id"].astype(str))
        cgv = cgv[base.id_index.get_indexer(cgv["contribution_id"].to_numpy(dtype=object)) >= 0]
        vote_group = base.ids.map(contribution_vote_groups(cgv))
        vote_group.index = base.ids.to_numpy()
        if consensus is None:
            consensus = group_aware_consensus(cgv)
        group_votes = GroupVotes.build(cgv)
        stances = unit_stances(base.links, group_votes)
        members = participant_groups if participant_groups is not None else vote_group.dropna().astype(int)
        opinion, opinion_head = empty.opinion, empty.opinion_head
        if len(members):
            opinion, opinion_head = opinion_group_table(members, stances, **options)
        return cls(
            vote_group=vote_group,
            representatives=_representatives(cgv, base.linked),
            common_ground=_common_ground(cgv, consensus, base.links, units, gac_threshold=gac_threshold),
            stances=stances,
            opinion=opinion,
            opinion_head=opinion_head,
            group_votes=group_votes,
            members=members,
        )

    def opinion_rows(self) -> list[ScoreRow]:
        """UER over opinion groups with its interval, the under-represented groups, units by stance."""
        if not self.opinion_head:
            return []
        value, low, high, widened = self.opinion_head["uer_opinion_groups"]
        under = self.opinion["under_represented"]
        rows: list[ScoreRow] = [
            ("uer_opinion_groups", value, low, high, widened_note(widened)),
            ("unfair_opinion_groups", float(under.any()), NAN, NAN, None),
            ("opinion_groups_under_represented", float(under.sum()), NAN, NAN, None),
            ("n_opinion_groups", float(len(self.opinion)), NAN, NAN, None),
        ]
        for stance in ("group", "common_ground", "contested", "no_votes"):
            rows.append((f"units_stance:{stance}", float((self.stances["stance"] == stance).sum()), NAN, NAN, None))
        return rows

    def check_rows(self) -> list[ScoreRow]:
        """Survival of the representative comments and precision of the common-ground units."""
        rows: list[ScoreRow] = []
        if not self.representatives.empty:
            rows.append(("representative_survival", float(self.representatives["covered"].mean()), NAN, NAN, None))
        if not self.common_ground.empty:
            per_unit = self.common_ground.groupby("unit_index")["agreed_by_all"].all()
            precision = float(self.common_ground["agreed_by_all"].mean())
            rows.append(("common_ground_precision", precision, NAN, NAN, None))
            rows.append(("common_ground_units_grounded", float(per_unit.mean()), NAN, NAN, None))
        return rows

    def placebo_rows(self, cells: TopicCells, links: pd.DataFrame, **options: object) -> list[ScoreRow]:
        """The placebo: the same headlines with each unit's links redrawn at random."""
        grouped = len(self.opinion) > 0
        group_votes = self.group_votes
        placebo = placebo_headlines(
            cells, links, stances_of=(lambda lk: unit_stances(lk, group_votes)) if grouped else None,
            participant_groups=self.members if grouped else None, **options,
        )  # fmt: skip
        return [(f"placebo:{m}", v, lo, hi, "random links, same number per unit") for m, (v, lo, hi) in placebo.items()]


def _representatives(cgv: pd.DataFrame, linked: set[str]) -> pd.DataFrame:
    """Each vote group's most representative comment (ties: lowest id) and whether it survives."""
    frame = cgv.dropna(subset=["representativeness"]).sort_values(
        ["vote_group", "representativeness", "contribution_id"], ascending=[True, False, True]
    )
    best = frame.drop_duplicates("vote_group")[["vote_group", "contribution_id", "representativeness"]]
    best = best.assign(covered=best["contribution_id"].isin(linked))
    return best.reset_index(drop=True)


def _common_ground(
    cgv: pd.DataFrame,
    consensus: pd.DataFrame,
    links: pd.DataFrame,
    units: pd.DataFrame | None,
    *,
    gac_threshold: float | None,
) -> pd.DataFrame:
    """Links of units of kind ``common_ground`` with whether every group agrees with the comment."""
    columns = ["unit_index", "contribution_id", "gac", "min_agree_rate", "agreed_by_all"]
    if units is None or "kind" not in units.columns:
        return pd.DataFrame(columns=columns)
    cg_units = set(units.loc[units["kind"] == "common_ground", "unit_index"])
    cg_links = links[links["unit_index"].isin(cg_units)][["unit_index", "contribution_id"]].drop_duplicates()
    if cg_links.empty:
        return pd.DataFrame(columns=columns)
    n_groups = cgv["vote_group"].nunique()
    rates = cgv.assign(rate=cgv["agree_rate"].fillna(0.0)).groupby("contribution_id")
    min_rate = rates["rate"].min()
    n_seen = rates["vote_group"].nunique()
    gac = consensus.assign(contribution_id=consensus["contribution_id"].astype(str)).set_index("contribution_id")["gac"]
    out = cg_links.assign(
        gac=cg_links["contribution_id"].map(gac).astype(float),
        min_agree_rate=cg_links["contribution_id"].map(min_rate).astype(float),
    )
    all_groups = cg_links["contribution_id"].map(n_seen).fillna(0).to_numpy() == n_groups
    by_rate = all_groups & (out["min_agree_rate"].fillna(0.0).to_numpy() > 0.5)
    by_gac = (out["gac"].fillna(0.0).to_numpy() >= gac_threshold) if gac_threshold is not None else False
    out["agreed_by_all"] = by_rate | by_gac
    return out.sort_values(["unit_index", "contribution_id"]).reset_index(drop=True)
