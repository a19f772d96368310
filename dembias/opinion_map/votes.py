"""A debate's votes (loaded from the corpus) and how each vote group voted on them.

Votes follow Polis open data: 1 = agree, -1 = disagree, 0 = pass; the last vote of a participant on a
comment counts. The groups themselves are computed in :mod:`dembias.opinion_map.vote_groups`.

Per group and comment: agree/disagree/pass counts, Polis representativeness
``ra = ((A_g+1)/(S_g+2)) / ((A_notg+1)/(S_notg+2))`` (and ``rd`` likewise for disagree; the larger is
kept with its direction), and group-aware consensus ``GAC(c) = Π_g (A_g+1)/(S_g+2)`` with S = seen =
agree + disagree + pass.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dembias.workspace.folder import Workspace
from dembias.workspace.votes import debate_votes, published_groups


def load_votes(ws: Workspace, debate_id: str, *, include_rejected: bool = False) -> pd.DataFrame:
    """Votes ``(participant_pid, contribution_id, vote)`` of a debate, one per voter and comment (the last)."""
    return debate_votes(ws, debate_id, include_rejected=include_rejected)


def load_published_groups(ws: Workspace, debate_id: str) -> pd.Series:
    """The opinion group Polis published for each participant (index participant_pid)."""
    return published_groups(ws, debate_id).set_index("participant_pid")["published_group"].astype(int)


def comment_group_votes(votes: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Per comment and group: counts, agree rate, Polis representativeness and its direction.

    Columns: contribution_id, vote_group, n_agree, n_disagree, n_pass, n_seen, agree_rate
    ((A+1)/(S+2)), disagree_rate ((D+1)/(S+2)), representativeness, direction ('agree' or 'disagree').
    Only participants that have a group count.
    """
    grouped = votes.merge(groups.rename("vote_group"), left_on="participant_pid", right_index=True, how="inner")
    comments = sorted(votes["contribution_id"].unique())
    group_ids = sorted(groups.unique())
    counts = (
        grouped.assign(
            n_agree=(grouped["vote"] == 1).astype(int),
            n_disagree=(grouped["vote"] == -1).astype(int),
            n_pass=(grouped["vote"] == 0).astype(int),
        )
        .groupby(["contribution_id", "vote_group"])[["n_agree", "n_disagree", "n_pass"]]
        .sum()
    )
    full = pd.MultiIndex.from_product([comments, group_ids], names=["contribution_id", "vote_group"])
    counts = counts.reindex(full, fill_value=0).reset_index()
    counts["n_seen"] = counts["n_agree"] + counts["n_disagree"] + counts["n_pass"]
    totals = counts.groupby("contribution_id")[["n_agree", "n_disagree", "n_seen"]].transform("sum")
    a_in, d_in, s_in = counts["n_agree"], counts["n_disagree"], counts["n_seen"]
    a_out = totals["n_agree"] - a_in
    d_out = totals["n_disagree"] - d_in
    s_out = totals["n_seen"] - s_in
    counts["agree_rate"] = (a_in + 1) / (s_in + 2)
    counts["disagree_rate"] = (d_in + 1) / (s_in + 2)
    ra = counts["agree_rate"] / ((a_out + 1) / (s_out + 2))
    rd = counts["disagree_rate"] / ((d_out + 1) / (s_out + 2))
    counts["representativeness"] = np.maximum(ra, rd)
    counts["direction"] = np.where(ra >= rd, "agree", "disagree")
    return counts.astype({"vote_group": "int32", "n_agree": "int32", "n_disagree": "int32", "n_pass": "int32"})


def group_aware_consensus(group_votes: pd.DataFrame) -> pd.DataFrame:
    """GAC(c) = Π_g (A_g+1)/(S_g+2) from :func:`comment_group_votes` output: ``(contribution_id, gac)``."""
    frame = group_votes.assign(_rate=(group_votes["n_agree"] + 1) / (group_votes["n_seen"] + 2))
    gac = frame.groupby("contribution_id")["_rate"].prod()
    return gac.rename("gac").reset_index()


def cluster_vote_profile(votes: pd.DataFrame, groups: pd.Series, clusters: pd.Series) -> pd.DataFrame:
    """How each vote group voted on the comments of each opinion cluster.

    ``clusters`` maps contribution_id -> cluster. Columns: cluster, vote_group, n_votes, agree_rate,
    disagree_rate, pass_rate (plain shares of the group's votes on the cluster's comments).
    """
    frame = votes.merge(groups.rename("vote_group"), left_on="participant_pid", right_index=True, how="inner")
    frame = frame.merge(clusters.rename("cluster"), left_on="contribution_id", right_index=True, how="inner")
    if frame.empty:
        return pd.DataFrame(
            {
                "cluster": pd.Series(dtype="int32"),
                "vote_group": pd.Series(dtype="int32"),
                "n_votes": pd.Series(dtype="int64"),
                "agree_rate": pd.Series(dtype="float64"),
                "disagree_rate": pd.Series(dtype="float64"),
                "pass_rate": pd.Series(dtype="float64"),
            }
        )
    frame = frame.assign(
        _agree=(frame["vote"] == 1).astype(float),
        _disagree=(frame["vote"] == -1).astype(float),
        _pass=(frame["vote"] == 0).astype(float),
    )
    profile = (
        frame.groupby(["cluster", "vote_group"])
        .agg(
            n_votes=("vote", "size"),
            agree_rate=("_agree", "mean"),
            disagree_rate=("_disagree", "mean"),
            pass_rate=("_pass", "mean"),
        )
        .reset_index()
    )
    return profile.astype({"cluster": "int32", "vote_group": "int32", "n_votes": "int64"})
