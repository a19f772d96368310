"""Robustness diagnostics of a clustering (stability across seeds, persistence, language confound), and the
warnings for a map too small or unstable to read as findings (:func:`small_debate_warnings`)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
from sklearn.neighbors import NearestNeighbors

#: Below this many contributions opinion clusters are not stable enough to read as findings: on real
#: debates of 31-50 comments HDBSCAN left about half of them as noise with a seed-to-seed ARI near 0.2.
MIN_CONTRIBUTIONS_FOR_CLUSTERS = 50
#: Clusters whose mean pairwise ARI across seeds is below this are flagged as unstable.
MIN_STABILITY_ARI = 0.5
#: A map that leaves more than this share of contributions as noise is flagged.
MAX_NOISE_SHARE = 0.5
#: Below this many participants with enough votes the vote groups are flagged: Polis's own groups come
#: from 100 base clusters, and on the two Polis conversations here with 100-174 such participants
#: neither red-dwarf nor dembias recovers the published groups (ARI <= 0.13, docs/validity.md).
MIN_PARTICIPANTS_FOR_GROUPS = 200


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


def small_debate_warnings(debate_id: str, diagnostics: Mapping[str, float], *, has_votes: bool = False) -> list[str]:
    """Warnings for a map whose clusters or vote groups are too small or unstable to read as findings.

    Rules: fewer than :data:`MIN_CONTRIBUTIONS_FOR_CLUSTERS` contributions; a stability ARI across seeds
    below :data:`MIN_STABILITY_ARI`; more than :data:`MAX_NOISE_SHARE` of the contributions as noise; vote groups from fewer than :data:`MIN_PARTICIPANTS_FOR_GROUPS`
    participants, or votes but no groups at all.
    """
    found = []
    n = int(diagnostics.get("n_contributions", 0))
    if n < MIN_CONTRIBUTIONS_FOR_CLUSTERS:
        found.append(
            f"{debate_id}: {n} contributions, fewer than {MIN_CONTRIBUTIONS_FOR_CLUSTERS}: opinion clusters of a "
            "debate this small are mostly noise and change from seed to seed; read them as indicative only"
        )
    stability = diagnostics.get("stability_ari", float("nan"))
    if not math.isnan(stability) and diagnostics.get("n_seeds", 1) > 1 and stability < MIN_STABILITY_ARI:
        found.append(
            f"{debate_id}: opinion clusters are unstable across seeds (ARI {stability:.2f} < {MIN_STABILITY_ARI})"
        )
    noise = diagnostics.get("noise_share", 0.0)
    if noise > MAX_NOISE_SHARE:
        found.append(
            f"{debate_id}: {noise:.0%} of the contributions are noise (in no cluster), more than {MAX_NOISE_SHARE:.0%}"
        )
    if "vote_groups_participants" in diagnostics:
        kept = int(diagnostics["vote_groups_participants"])
        if kept < MIN_PARTICIPANTS_FOR_GROUPS:
            found.append(
                f"{debate_id}: vote groups from {kept} participants with enough votes, fewer than "
                f"{MIN_PARTICIPANTS_FOR_GROUPS}: groups this small did not reproduce Polis's published groups "
                "(docs/validity.md); read them as indicative only"
            )
    elif has_votes:
        found.append(f"{debate_id}: votes exist but too few participants voted enough to form vote groups")
    return found
