"""Opinion groups in a summary: which vote group each unit speaks for, and each group's share.

*Opinion groups* are the debate's vote groups (Polis-style, from who agrees with what; see
:mod:`dembias.opinion_map.votes`). They are one of three notions of minority, named apart everywhere: minority
*topics* (small clusters of what was written), minority *opinion groups* (small vote groups, this
module) and *declared groups* (a metadata column such as a self-reported minority).

**Stance from votes.** Embeddings link a unit to contributions by topic, not by stance (DESIGN.md §4),
so a sentence can link to comments of both sides of a question. Where votes exist, how each group
voted on the linked contributions says whose view the unit carries. For unit u and group g, the
pooled agree rate r_g(u) = Σ agrees of g / Σ votes of g (agree, disagree, pass) over u's linked
contributions. Then u:

* speaks for **g** when r_g(u) exceeds every other group's rate by at least ``margin`` (0.2);
* is **common ground** when every group's rate is above ``agree_floor`` (0.5) (and no single group
  leads by ``margin``);
* is **contested** otherwise (its links mix contributions the groups disagree on), and is credited to
  no group;
* has **no votes** when no group voted on its links.

p_t(g) = (units speaking for g + common-ground units / |G|) / (units speaking for a group or common
ground). p_s(g) = g's share of the grouped participants. A group is **under-represented** when
p_t(g) <= 0.8 p_s(g). Small groups (fewer than ``min_cell`` participants) keep their shares: small-cell
suppression hides quotes, not group-level shares, and a suppressed group still counts as
under-represented. What this cannot see, said plainly: whether a unit agrees or disagrees with the
contributions it links. That needs a judge (an NLI model); without one, a unit that argues *against*
a group's comments on their topic is still credited to that group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dembias.pluralism.topics import UNDER_REPRESENTED_RATIO
from dembias.small_cells import MIN_CELL
from dembias.uncertainty import bias_corrected_interval

STANCE_COLUMNS = ["unit_index", "stance", "vote_group", "n_linked_voted", "agree_rates"]


@dataclass(frozen=True)
class GroupVotes:
    """Votes of each opinion group on each contribution, as arrays: built once per debate, used per output.

    ``agree[i, j]`` and ``seen[i, j]``: agrees and votes (agree, disagree, pass) of group ``groups[j]`` on the
    contribution at ``position[contribution_id] == i``.
    """

    groups: list[int]
    position: pd.Series
    agree: np.ndarray
    seen: np.ndarray

    @classmethod
    def build(cls, comment_group_votes: pd.DataFrame) -> GroupVotes:
        """From ``comment_group_votes`` (contribution_id, vote_group, n_agree, n_disagree, n_pass)."""
        ids = comment_group_votes["contribution_id"].astype(str).to_numpy(dtype=object)
        rows, uniques = pd.factorize(ids)
        cols, groups = pd.factorize(comment_group_votes["vote_group"].to_numpy(), sort=True)
        agree = np.zeros((len(uniques), len(groups)))
        seen = np.zeros((len(uniques), len(groups)))
        n_agree = comment_group_votes["n_agree"].to_numpy(dtype=float)
        n_seen = n_agree + comment_group_votes["n_disagree"].to_numpy(dtype=float)
        n_seen = n_seen + comment_group_votes["n_pass"].to_numpy(dtype=float)
        np.add.at(agree, (rows, cols), n_agree)
        np.add.at(seen, (rows, cols), n_seen)
        position = pd.Series(np.arange(len(uniques)), index=pd.Index(uniques, dtype=object))
        return cls([int(g) for g in groups], position, agree, seen)


def unit_stances(
    links: pd.DataFrame,
    votes: GroupVotes | pd.DataFrame,
    *,
    margin: float = 0.2,
    agree_floor: float = 0.5,
) -> pd.DataFrame:
    """The stance of every linked unit (module docstring), one row per unit in ``links``.

    ``votes``: a :class:`GroupVotes` (or the ``comment_group_votes`` frame it is built from). Columns:
    ``unit_index``, ``stance`` (group | common_ground | contested | no_votes), ``vote_group`` (the group
    a unit speaks for, else -1), ``n_linked_voted`` (linked contributions some group voted on) and
    ``agree_rates`` ("g:rate" pairs, for reading).
    """
    if links.empty:
        return pd.DataFrame(columns=STANCE_COLUMNS)
    if not isinstance(votes, GroupVotes):
        votes = GroupVotes.build(votes)
    pairs = links[["unit_index", "contribution_id"]].drop_duplicates()
    ids = pairs["contribution_id"].astype(str).to_numpy(dtype=object)
    pos = votes.position.reindex(ids).to_numpy()
    known = ~np.isnan(pos)
    unit_codes, units = pd.factorize(pairs["unit_index"].to_numpy(), sort=True)
    agree = np.zeros((len(units), len(votes.groups)))
    seen = np.zeros((len(units), len(votes.groups)))
    rows = pos[known].astype(int)
    np.add.at(agree, unit_codes[known], votes.agree[rows])
    np.add.at(seen, unit_codes[known], votes.seen[rows])
    voted = np.zeros(len(units), dtype=np.int64)
    np.add.at(voted, unit_codes[known], (votes.seen[rows].sum(axis=1) > 0).astype(np.int64))
    with np.errstate(invalid="ignore", divide="ignore"):
        rates = np.where(seen > 0, agree / seen, np.nan)
    n_groups = len(votes.groups)
    out = []
    for i, unit in enumerate(units.tolist()):
        r = rates[i]
        has = ~np.isnan(r)
        if voted[i] == 0 or not has.any():
            out.append((unit, "no_votes", -1, 0, ""))
            continue
        text = ", ".join(f"{votes.groups[j]}:{r[j]:.2f}" for j in np.flatnonzero(has))
        stance, group = "contested", -1
        if n_groups == 1:
            stance, group = "group", votes.groups[0]
        elif has.all():
            order = np.argsort(-r, kind="stable")
            if r[order[0]] - r[order[1]] >= margin:
                stance, group = "group", votes.groups[order[0]]
            elif (r > agree_floor).all():
                stance = "common_ground"
        out.append((unit, stance, group, int(voted[i]), text))
    frame = pd.DataFrame(out, columns=STANCE_COLUMNS)
    return frame.astype({"unit_index": "int64", "vote_group": "int64", "n_linked_voted": "int64"})


def stance_shares(stances: pd.DataFrame, groups: list[int]) -> pd.Series:
    """p_t over ``groups`` from unit stances (module docstring); zeros when no unit is credited."""
    weights = pd.Series(0.0, index=groups)
    if stances.empty or not groups:
        return weights
    speaking = stances[stances["stance"] == "group"]
    common = int((stances["stance"] == "common_ground").sum())
    counted = len(speaking) + common
    if counted == 0:
        return weights
    for g, n in speaking["vote_group"].value_counts().items():
        if g in weights.index:
            weights[g] += n
    weights += common / len(groups)
    return weights / counted


def opinion_group_table(
    participant_groups: pd.Series,
    stances: pd.DataFrame,
    *,
    unfair_ratio: float = UNDER_REPRESENTED_RATIO,
    min_cell: int = MIN_CELL,
    n_resamples: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[pd.DataFrame, dict[str, tuple[float, float, float, bool]]]:
    """Per opinion group: participants, p_s (with interval), p_t, ratio (with interval), under-representation.

    ``participant_groups``: one vote group per grouped participant. Intervals: a multinomial
    bootstrap of the participants (the summary, hence p_t, is fixed), seeded. Returns (table,
    headline) where headline maps ``uer_opinion_groups`` to (value, low, high, widened).
    """
    counts = participant_groups.value_counts().sort_index()
    groups = [int(g) for g in counts.index]
    n = int(counts.sum())
    p_t = stance_shares(stances, groups).to_numpy()
    p_s = counts.to_numpy(dtype=float) / n
    draws = np.random.default_rng(seed).multinomial(n, p_s, size=n_resamples) / n
    alpha = (1 - confidence) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio_draws = p_t[None, :] / draws
    speaking = stances[stances["stance"] == "group"]["vote_group"].value_counts() if len(stances) else pd.Series()
    common = int((stances["stance"] == "common_ground").sum()) if len(stances) else 0
    rows = []
    for j, g in enumerate(groups):
        low_s, high_s = np.quantile(draws[:, j], [alpha, 1 - alpha])
        finite = ratio_draws[:, j][np.isfinite(ratio_draws[:, j])]
        low_r, high_r = np.quantile(finite, [alpha, 1 - alpha]) if finite.size else (np.nan, np.nan)
        rows.append(
            {
                "vote_group": g,
                "n_participants": int(counts.iloc[j]),
                "p_s": p_s[j],
                "p_s_low": float(low_s),
                "p_s_high": float(high_s),
                "p_t": float(p_t[j]),
                "ratio": float(p_t[j] / p_s[j]),
                "ratio_low": float(low_r),
                "ratio_high": float(high_r),
                "n_units_for": int(speaking.get(g, 0)),
                "n_common_ground_units": common,
                "under_represented": bool(p_t[j] <= unfair_ratio * p_s[j]),
                "small_cell": bool(counts.iloc[j] < min_cell),
            }
        )
    point = float(np.maximum(0.0, p_s - p_t).mean()) if groups else float("nan")
    boot = np.maximum(0.0, draws - p_t[None, :]).mean(axis=1) if groups else np.array([])
    low, high, widened = bias_corrected_interval(point, boot, confidence=confidence)
    return pd.DataFrame(rows, columns=OPINION_GROUP_COLUMNS), {"uer_opinion_groups": (point, low, high, widened)}


OPINION_GROUP_COLUMNS = [
    "vote_group",
    "n_participants",
    "p_s",
    "p_s_low",
    "p_s_high",
    "p_t",
    "ratio",
    "ratio_low",
    "ratio_high",
    "n_units_for",
    "n_common_ground_units",
    "under_represented",
    "small_cell",
]
