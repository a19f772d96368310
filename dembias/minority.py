"""Minority topics: the one definition dembias uses (DESIGN.md section 5), for every stage and view.

An opinion map's clusters are its topics; the noise bucket (id ``NOISE``) holds contributions HDBSCAN left
unclustered. The minority topics are the smallest clusters that together hold at most ``minority_share``
(20%) of all N contributions, noise counted in N but never a minority itself. Pluralism scores
(``minority_topic_survival``), fidelity by cluster size and the views all call :func:`minority_cluster_ids`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

#: The cluster id of contributions in no cluster.
NOISE = -1


def minority_mask(sizes: np.ndarray, n_total: int | np.ndarray, *, minority_share: float = 0.2) -> np.ndarray:
    """Which clusters are minority clusters, row-wise for a (R, C) matrix of sizes (or one 1-D row).

    Clusters are taken from the smallest (ties: lowest column first); a cluster is a minority one when
    the cumulative size up to and including it is at most ``minority_share`` of ``n_total``. Clusters
    of size 0 are never minority (they are absent).
    """
    sizes = np.atleast_2d(np.asarray(sizes, dtype=float))
    n_total = np.broadcast_to(np.asarray(n_total, dtype=float).reshape(-1, 1), (sizes.shape[0], 1))
    order = np.argsort(sizes, axis=1, kind="stable")
    sorted_sizes = np.take_along_axis(sizes, order, axis=1)
    cumulative = np.cumsum(sorted_sizes, axis=1)
    in_sorted = (cumulative <= minority_share * n_total + 1e-9) & (sorted_sizes > 0)
    mask = np.zeros_like(in_sorted)
    np.put_along_axis(mask, order, in_sorted, axis=1)
    return mask


def minority_cluster_ids(
    sizes: Mapping[int, int], *, n_total: int | None = None, minority_share: float = 0.2, noise: int = NOISE
) -> set[int]:
    """The minority topics of one clustering (DESIGN.md section 5): the one definition dembias uses.

    ``sizes`` maps cluster id to its number of contributions, the noise bucket included. N is every
    contribution (``n_total``, default the sum of ``sizes``, noise included); the noise bucket is never a
    minority topic. Clusters are taken smallest first (ties: lowest id first) while the running total
    stays within ``minority_share`` of N (:func:`minority_mask`).
    """
    ids = sorted(int(c) for c in sizes if int(c) != noise)
    n = sum(sizes.values()) if n_total is None else n_total
    if not ids:
        return set()
    mask = minority_mask(np.array([sizes[c] for c in ids]), n, minority_share=minority_share)[0]
    return {c for c, is_minority in zip(ids, mask, strict=True) if is_minority}


__all__ = ["NOISE", "minority_cluster_ids", "minority_mask"]
