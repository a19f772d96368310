"""Robustness diagnostics of a clustering: stability across seeds, persistence, language confound."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.neighbors import NearestNeighbors


def stability_ari(labelings: Sequence[np.ndarray]) -> float:
    """Mean pairwise adjusted Rand index between clusterings of the same points (noise as its own label)."""
    pairs = list(itertools.combinations(range(len(labelings)), 2))
    if not pairs:
        return float("nan")
    return float(np.mean([adjusted_rand_score(labelings[i], labelings[j]) for i, j in pairs]))


def cluster_persistence(
    reference: np.ndarray, others: Sequence[np.ndarray], *, threshold: float = 0.5
) -> dict[int, float]:
    """For each cluster of ``reference`` (noise excluded): the share of ``others`` holding a cluster with
    Jaccard similarity >= ``threshold`` to it."""
    reference = np.asarray(reference)
    result = {}
    for cluster in sorted(set(reference.tolist()) - {-1}):
        members = reference == cluster
        hits = 0
        for other in others:
            other = np.asarray(other)
            best = 0.0
            for candidate in set(other[members].tolist()) - {-1}:
                theirs = other == candidate
                inter = np.count_nonzero(members & theirs)
                best = max(best, inter / np.count_nonzero(members | theirs))
            hits += best >= threshold
        result[int(cluster)] = hits / len(others) if others else float("nan")
    return result


def nmi_language(clusters: np.ndarray, languages: Sequence[str | None]) -> float:
    """Normalised mutual information between cluster and language (0 when one language only)."""
    langs = np.array([lang or "und" for lang in languages], dtype=object)
    if len(set(langs.tolist())) < 2:
        return 0.0
    return float(normalized_mutual_info_score(langs, np.asarray(clusters)))


def cross_language_nn_share(
    embeddings: np.ndarray,
    languages: Sequence[str | None],
    *,
    k: int = 10,
    max_queries: int = 5000,
    seed: int = 0,
) -> float:
    """Share of each point's ``k`` nearest neighbours (cosine) written in another language.

    Above ``max_queries`` points, the share is estimated on a seeded sample of query points (their
    neighbours are still searched among all points).
    """
    langs = np.array([lang or "und" for lang in languages], dtype=object)
    n = len(langs)
    if n < 2 or len(set(langs.tolist())) < 2:
        return 0.0
    k = min(k, n - 1)
    queries = np.arange(n)
    if n > max_queries:
        queries = np.sort(np.random.default_rng(seed).choice(n, size=max_queries, replace=False))
    index = NearestNeighbors(n_neighbors=k + 1, metric="cosine").fit(embeddings)
    neighbours = index.kneighbors(embeddings[queries], return_distance=False)
    # drop each point itself (the first neighbour unless duplicates tie with it)
    others = np.array([[j for j in row if j != i][:k] for i, row in zip(queries, neighbours, strict=True)])
    return float(np.mean(langs[others] != langs[queries][:, None]))


def expected_cross_language_share(languages: Sequence[str | None]) -> float:
    """The cross-language neighbour share expected if neighbours ignored language: 1 - Σ p_l²."""
    langs = [lang or "und" for lang in languages]
    if not langs:
        return 0.0
    _, counts = np.unique(langs, return_counts=True)
    shares = counts / counts.sum()
    return float(1.0 - np.sum(shares**2))
