"""Opinion groups in a summary: which vote group each unit speaks for, and each group's share.

*Opinion groups* are the debate's vote groups (Polis-style, from who agrees with what; see
:mod:`dembias.votes`). They are one of three notions of minority, named apart everywhere: minority
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

import numpy as np
import pandas as pd

from dembias.metrics.uncertainty import bias_corrected_interval

STANCE_COLUMNS = ["unit_index", "stance", "vote_group", "n_linked_voted", "agree_rates"]


def unit_stances(
    links: pd.DataFrame,
    comment_group_votes: pd.DataFrame,
    *,
    margin: float = 0.2,
    agree_floor: float = 0.5,
) -> pd.DataFrame:
    """The stance of every linked unit (module docstring), one row per unit in ``links``.

    ``comment_group_votes``: contribution_id, vote_group, n_agree, n_disagree, n_pass. Columns:
    ``unit_index``, ``stance`` (group | common_ground | contested | no_votes), ``vote_group`` (the group
    a unit speaks for, else -1), ``n_linked_voted`` (linked contributions some group voted on) and
    ``agree_rates`` ("g:rate" pairs, for reading).
    """
    if links.empty:
        return pd.DataFrame(columns=STANCE_COLUMNS)
    cgv = comment_group_votes.assign(contribution_id=comment_group_votes["contribution_id"].astype(str))
    cgv = cgv.assign(n_seen=cgv["n_agree"] + cgv["n_disagree"] + cgv["n_pass"])
    groups = sorted(cgv["vote_group"].unique().tolist())
    pairs = links[["unit_index", "contribution_id"]].astype({"contribution_id": str}).drop_duplicates()
    joined = pairs.merge(cgv[["contribution_id", "vote_group", "n_agree", "n_seen"]], on="contribution_id")
    joined = joined[joined["n_seen"] > 0]
    pooled = joined.groupby(["unit_index", "vote_group"])[["n_agree", "n_seen"]].sum()
    rates = (pooled["n_agree"] / pooled["n_seen"]).unstack("vote_group").reindex(columns=groups)
    voted = joined.groupby("unit_index")["contribution_id"].nunique()
    rows = []
    for unit in sorted(pairs["unit_index"].unique().tolist()):
        if unit not in rates.index:
            rows.append((unit, "no_votes", -1, 0, ""))
            continue
        r = rates.loc[unit]
        known = r.dropna()
        text = ", ".join(f"{g}:{v:.2f}" for g, v in known.items())
        stance, group = "contested", -1
        if len(known) == 1 and len(groups) == 1:
            stance, group = "group", int(known.index[0])
        elif len(known) >= 2:
            order = known.sort_values(ascending=False, kind="stable")
            lead = order.iloc[0] - order.iloc[1]
            if len(known) == len(groups) and lead >= margin:
                stance, group = "group", int(order.index[0])
            elif len(known) == len(groups) and (known > agree_floor).all():
                stance = "common_ground"
        rows.append((unit, stance, group, int(voted.get(unit, 0)), text))
    frame = pd.DataFrame(rows, columns=STANCE_COLUMNS)
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
    unfair_ratio: float = 0.8,
    min_cell: int = 5,
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
