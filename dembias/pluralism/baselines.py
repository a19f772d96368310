"""Baseline summarizers: extractive summaries to compare model summaries with.

Each baseline picks ``budget`` contributions; each becomes one unit (its text, kind ``quote``) that
cites the contribution it picked, so the baselines are linked by citation like the Sensemaker report.
They are stored as outputs of task ``summary`` with model ``baseline:<name>``.

* ``top-voted``: most agreed (``n_agree``; with a ``consensus`` frame, highest GAC), ties by id. Skipped
  for a debate without votes (refused when asked for by name): it would be the first ids, not the most agreed.
* ``centroid``: closest (cosine) to the debate's mean embedding.
* ``mmr``: maximal marginal relevance, relevance = similarity to the centroid, ``lambda`` 0.5.
* ``cluster-representative``: units allotted to clusters (noise excluded) in proportion to their
  size by largest remainders, with at least one per cluster when the budget allows (else the
  largest clusters get one each); within a cluster, members closest to the cluster's centroid.
* ``random``: a seeded uniform sample.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dembias.ingest.outputs import OutputRecord, OutputUnit, output_id_for
from dembias.validation import check_at_least

BASELINES = ("top-voted", "centroid", "mmr", "cluster-representative", "random")


def _normalise(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=float)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def pick_top_voted(contributions: pd.DataFrame, budget: int, *, consensus: pd.DataFrame | None = None) -> list[int]:
    """Row positions of the ``budget`` most agreed contributions (by GAC when ``consensus`` is given)."""
    ids = contributions["contribution_id"].astype(str)
    if consensus is not None and not consensus.empty:
        gac = consensus.assign(contribution_id=consensus["contribution_id"].astype(str)).set_index("contribution_id")
        key = ids.map(gac["gac"]).fillna(-1.0).to_numpy()
    else:
        key = contributions["n_agree"].fillna(0).to_numpy(dtype=float)
    order = np.lexsort((ids.to_numpy(), -key))
    return [int(i) for i in order[:budget]]


def pick_centroid(embeddings: np.ndarray, budget: int) -> list[int]:
    """Row positions of the ``budget`` contributions most similar to the mean embedding."""
    vectors = _normalise(embeddings)
    centre = vectors.mean(axis=0)
    sims = vectors @ (centre / (np.linalg.norm(centre) or 1.0))
    return [int(i) for i in np.argsort(-sims, kind="stable")[:budget]]


def pick_mmr(embeddings: np.ndarray, budget: int, *, lambda_: float = 0.5) -> list[int]:
    """Maximal marginal relevance: lambda * sim(centroid) - (1 - lambda) * max sim to those picked."""
    vectors = _normalise(embeddings)
    centre = vectors.mean(axis=0)
    relevance = vectors @ (centre / (np.linalg.norm(centre) or 1.0))
    picked: list[int] = []
    redundancy = np.full(len(vectors), -np.inf)
    available = np.ones(len(vectors), dtype=bool)
    for _ in range(min(budget, len(vectors))):
        penalty = np.where(np.isfinite(redundancy), redundancy, 0.0)
        score = np.where(available, lambda_ * relevance - (1 - lambda_) * penalty, -np.inf)
        best = int(np.argmax(score))
        picked.append(best)
        available[best] = False
        redundancy = np.maximum(redundancy, vectors @ vectors[best])
    return picked


def allocate(sizes: Sequence[int], budget: int) -> list[int]:
    """Units per cluster: proportional to size by largest remainders, at least one each if budget allows.

    When the budget is smaller than the number of clusters, the largest clusters (ties: first) get one.
    """
    sizes = np.asarray(sizes, dtype=float)
    k = len(sizes)
    if k == 0 or budget <= 0:
        return [0] * k
    if budget < k:
        out = np.zeros(k, dtype=int)
        out[np.argsort(-sizes, kind="stable")[:budget]] = 1
        return out.tolist()
    base = np.ones(k, dtype=int)
    rest = budget - k
    capacity = sizes - 1
    if rest > 0 and capacity.sum() > 0:
        quota = np.maximum(sizes * budget / sizes.sum() - 1, 0)
        quota = quota * rest / quota.sum() if quota.sum() > 0 else np.zeros(k)
        floor = np.minimum(np.floor(quota).astype(int), capacity.astype(int))
        base += floor
        left = min(rest - floor.sum(), int((capacity - floor).sum()))
        remainder = np.where(capacity - floor > 0, quota - floor, -np.inf)
        for i in np.argsort(-remainder, kind="stable")[:left]:
            base[i] += 1
    return np.minimum(base, sizes.astype(int)).tolist()


def pick_cluster_representatives(embeddings: np.ndarray, clusters: np.ndarray, budget: int) -> list[int]:
    """Row positions picked proportionally to cluster sizes, closest to each cluster's centroid first."""
    vectors = _normalise(embeddings)
    clusters = np.asarray(clusters)
    ids = sorted(c for c in set(clusters.tolist()) if c >= 0)
    members = [np.flatnonzero(clusters == c) for c in ids]
    quota = allocate([len(m) for m in members], budget)
    picked: list[int] = []
    for rows, q in zip(members, quota, strict=True):
        if q == 0:
            continue
        centre = vectors[rows].mean(axis=0)
        sims = vectors[rows] @ centre
        picked.extend(int(rows[i]) for i in np.argsort(-sims, kind="stable")[:q])
    return picked


def pick_random(n: int, budget: int, *, seed: int = 0) -> list[int]:
    """A seeded uniform sample of row positions without replacement."""
    return [int(i) for i in np.random.default_rng(seed).choice(n, size=min(budget, n), replace=False)]


def baseline_outputs(
    contributions: pd.DataFrame,
    embeddings: np.ndarray,
    assignments: pd.DataFrame,
    *,
    budget: int,
    seed: int = 0,
    consensus: pd.DataFrame | None = None,
    baselines: Sequence[str] = BASELINES,
) -> list[OutputRecord]:
    """The baseline summaries of one debate, as outputs ready for ``store_outputs``.

    ``contributions`` has ``debate_id``, ``contribution_id``, ``text`` and (for top-voted) ``n_agree``;
    ``embeddings`` are row-aligned with it; ``assignments`` gives each contribution's ``cluster``.
    """
    unknown = set(baselines) - set(BASELINES)
    if unknown:
        raise ValueError(f"unknown baselines {sorted(unknown)}; known: {list(BASELINES)}")
    check_at_least("budget", budget, 1)
    baselines = _runnable_baselines(baselines, contributions, consensus)
    contributions = contributions.reset_index(drop=True)
    if len(contributions) != len(embeddings):
        raise ValueError("embeddings must be row-aligned with contributions")
    ids = contributions["contribution_id"].astype(str)
    cluster_of = assignments.assign(contribution_id=assignments["contribution_id"].astype(str)).set_index(
        "contribution_id"
    )["cluster"]
    clusters = ids.map(cluster_of).fillna(-1).astype(int).to_numpy()
    records = []
    for name in baselines:
        if name == "top-voted":
            rows = pick_top_voted(contributions, budget, consensus=consensus)
        elif name == "centroid":
            rows = pick_centroid(embeddings, budget)
        elif name == "mmr":
            rows = pick_mmr(embeddings, budget)
        elif name == "cluster-representative":
            rows = pick_cluster_representatives(embeddings, clusters, budget)
        else:
            rows = pick_random(len(contributions), budget, seed=seed)
        records.append(_baseline_record(name, contributions, rows, budget=budget, seed=seed, consensus=consensus))
    return records


def _runnable_baselines(
    baselines: Sequence[str], contributions: pd.DataFrame, consensus: pd.DataFrame | None
) -> Sequence[str]:
    """The baselines to make: all asked for, less top-voted by default without votes (asked for: an error)."""
    has_votes = (consensus is not None and not consensus.empty) or (
        "n_agree" in contributions.columns and contributions["n_agree"].fillna(0).gt(0).any()
    )
    if not has_votes and "top-voted" in baselines:
        if baselines is not BASELINES:
            raise ValueError("the top-voted baseline needs votes, and this debate has none")
        baselines = tuple(b for b in baselines if b != "top-voted")  # by default: skipped without votes
    return baselines


def _baseline_record(
    name: str,
    contributions: pd.DataFrame,
    rows: Sequence[int],
    *,
    budget: int,
    seed: int,
    consensus: pd.DataFrame | None,
) -> OutputRecord:
    """One baseline summary: the picked contributions quoted, each citing itself."""
    debate_id = str(contributions["debate_id"].iloc[0])
    ids = contributions["contribution_id"].astype(str)
    model = f"baseline:{name}"
    params = {"budget": budget, "seed": seed, "ranking": "gac" if consensus is not None else "n_agree"}
    units = [OutputUnit(text=str(contributions.at[i, "text"]), citations=[ids[i]], kind="quote") for i in rows]
    return OutputRecord(
        output_id=output_id_for(debate_id, "summary", model, budget, seed),
        debate_id=debate_id,
        task="summary",
        model=model,
        prompt_id=f"baseline-{name}",
        text="\n".join(u.text for u in units),
        units=units,
        params=params,
        origin="dembias.pluralism.baselines",
    )
