"""Topic headlines of a summary from cell counts: one function for the estimate, the bootstrap and the placebo.

A contribution enters every topic headline only through its cell (cluster, covered), so a summary
scored against a debate reduces to a few cell counts, and N resampled contributions to a multinomial
draw of them. Definitions: :mod:`dembias.pluralism.metrics`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dembias.minority import NOISE, minority_mask

#: A topic or group is under-represented when its share of the summary is at most this times its share of the debate.
UNDER_REPRESENTED_RATIO = 0.8

#: Topic headline metrics that get a bootstrap interval over contributions (and a placebo).
TOPIC_INTERVAL_METRICS = (
    "coverage",
    "survival",
    "minority_topic_survival",
    "majority_topic_survival",
    "minority_topic_gap",
    "uer_topics",
)


def unit_shares(links: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """p_t over the values of ``labels`` (contribution_id -> value) from ``links`` (unit_index, contribution_id).

    Each unit linking to at least one labelled contribution has weight 1, split equally among the
    distinct values it links to. Returns value -> share (sums to 1; empty when no unit qualifies).
    """
    if links.empty:
        return pd.Series(dtype=float)
    frame = pd.DataFrame(
        {"unit": links["unit_index"].to_numpy(), "value": links["contribution_id"].astype(str).map(labels)}
    )
    frame = frame.dropna(subset=["value"]).drop_duplicates()
    if frame.empty:
        return pd.Series(dtype=float)
    per_unit = frame.groupby("unit")["value"].transform("size")
    weights = (1.0 / per_unit).groupby(frame["value"]).sum()
    return weights / frame["unit"].nunique()


@dataclass
class TopicCells:
    """Contributions reduced to what the topic headlines need: each one's cluster code and position.

    ``cluster``: per contribution (in ``ids`` order) an index into ``cluster_ids``, -1 for noise.
    """

    ids: pd.Series
    cluster: np.ndarray
    cluster_ids: np.ndarray
    position: pd.Series  # contribution_id -> row

    @classmethod
    def build(cls, ids: pd.Series, cluster: pd.Series) -> TopicCells:
        """From contribution ids and their cluster ids (noise -1), row-aligned."""
        cluster_ids = np.array(sorted(c for c in cluster.unique() if c != NOISE), dtype=int)
        code = {c: i for i, c in enumerate(cluster_ids)}
        codes = cluster.map(lambda c: code.get(c, -1)).to_numpy(dtype=int)
        return cls(ids, codes, cluster_ids, pd.Series(np.arange(len(ids)), index=ids.to_numpy()))

    def counts(self, covered: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(cell cluster code, cell covered 0/1, cell count) over the (cluster, covered) cells."""
        key = (self.cluster + 1) * 2 + covered.astype(int)
        counts = np.bincount(key, minlength=2 * (len(self.cluster_ids) + 1))
        cells = np.flatnonzero(counts)
        return cells // 2 - 1, (cells % 2).astype(float), counts[cells].astype(float)


def topic_headlines(
    counts: np.ndarray,
    cell_cluster: np.ndarray,
    cell_covered: np.ndarray,
    *,
    cluster_covered: np.ndarray,
    cluster_p_t: np.ndarray,
    minority_share: float,
    unfair_ratio: float,
) -> dict[str, np.ndarray]:
    """Every topic headline, row-wise for a (R, n_cells) matrix of cell counts."""
    counts = np.atleast_2d(counts).astype(float)
    n = counts.sum(axis=1)
    n_clusters = len(cluster_covered)
    out: dict[str, np.ndarray] = {"coverage": counts @ cell_covered / n}
    real = cell_cluster >= 0
    onehot = np.zeros((len(cell_cluster), n_clusters))
    onehot[np.flatnonzero(real), cell_cluster[real]] = 1.0
    sizes = counts @ onehot
    present = sizes > 0
    covered = present & cluster_covered[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["survival"] = covered.sum(axis=1) / present.sum(axis=1)
        minority = minority_mask(sizes, n, minority_share=minority_share)
        majority = present & ~minority
        out["minority_topic_survival"] = (covered & minority).sum(axis=1) / minority.sum(axis=1)
        out["majority_topic_survival"] = (covered & majority).sum(axis=1) / majority.sum(axis=1)
        out["minority_topic_gap"] = out["majority_topic_survival"] - out["minority_topic_survival"]
        p_s = sizes / n[:, None]
        gap = np.where(present, np.maximum(0.0, p_s - cluster_p_t[None, :]), 0.0)
        out["uer_topics"] = gap.sum(axis=1) / present.sum(axis=1)
        unfair = present & (cluster_p_t[None, :] <= unfair_ratio * p_s)
        out["unfair_topics"] = np.where(present.any(axis=1), unfair.any(axis=1).astype(float), np.nan)
    return out


def topic_point(
    cells: TopicCells,
    links: pd.DataFrame,
    *,
    minority_share: float = 0.2,
    unfair_ratio: float = UNDER_REPRESENTED_RATIO,
) -> dict[str, float]:
    """The topic headlines (point estimates) of a summary given by its ``links`` (unit_index, contribution_id)."""
    positions = cells.position.reindex(links["contribution_id"].astype(str).to_numpy(dtype=object)).to_numpy()
    known = ~np.isnan(positions)
    return topic_point_at(
        cells,
        links["unit_index"].to_numpy()[known],
        positions[known].astype(np.int64),
        minority_share=minority_share,
        unfair_ratio=unfair_ratio,
    )


def topic_point_at(
    cells: TopicCells,
    units: np.ndarray,
    positions: np.ndarray,
    *,
    minority_share: float = 0.2,
    unfair_ratio: float = UNDER_REPRESENTED_RATIO,
) -> dict[str, float]:
    """:func:`topic_point` for links given as (unit, contribution position) arrays (the placebo's draws)."""
    n_clusters = len(cells.cluster_ids)
    covered = np.zeros(len(cells.ids), dtype=bool)
    covered[positions] = True
    # p_t: each unit's weight split equally among the distinct clusters (noise included) it links to
    pairs = np.unique(np.stack([np.asarray(units, dtype=np.int64), cells.cluster[positions] + 1]), axis=1)
    p_t = np.zeros(n_clusters + 1)
    if pairs.shape[1]:
        _, unit_code, per_unit = np.unique(pairs[0], return_inverse=True, return_counts=True)
        np.add.at(p_t, pairs[1], 1.0 / per_unit[unit_code])
        p_t /= len(per_unit)
    cell_cluster, cell_covered, counts = cells.counts(covered)
    covered_codes = np.zeros(n_clusters + 1, dtype=bool)
    covered_codes[cells.cluster[covered] + 1] = True
    point = topic_headlines(
        counts,
        cell_cluster,
        cell_covered,
        cluster_covered=covered_codes[1:],
        cluster_p_t=p_t[1:],
        minority_share=minority_share,
        unfair_ratio=unfair_ratio,
    )
    return {k: float(v[0]) for k, v in point.items()}


def representation_status(
    covered: pd.Series, ratio: pd.Series, *, unfair_ratio: float = UNDER_REPRESENTED_RATIO
) -> pd.Series:
    """Per topic: "dropped" (not covered), "under-represented" (ratio p_t/p_s <= ``unfair_ratio``) or "represented"."""
    status = pd.Series("represented", index=covered.index)
    status[ratio.fillna(0) <= unfair_ratio] = "under-represented"
    status[~covered.astype(bool)] = "dropped"
    return status
