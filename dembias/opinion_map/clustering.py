"""Clustering a set of embeddings: UMAP for display, HDBSCAN opinion clusters under several seeds.

* a 2-D UMAP of the embeddings for display;
* a clustering space: UMAP to a few dimensions (above ``sample_threshold`` points it is fitted on a
  seeded sample and the rest transformed), clustered with HDBSCAN whose ``min_cluster_size`` scales
  with the debate (``max(5, round(0.5 * sqrt(N)))`` unless given); noise stays cluster -1 and is
  reported;
* the same clustering under several seeds gives the stability ARI and each cluster's persistence.

UMAP and HDBSCAN are imported when first used.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from dembias.opinion_map import diagnostics as diag
from dembias.opinion_map.params import SAMPLE_THRESHOLD, MapParams
from dembias.workspace.stage import Progress


def scaled_min_cluster_size(n: int) -> int:
    """HDBSCAN's minimum cluster size for a debate of ``n`` contributions: ``max(5, round(0.5 * sqrt(n)))``."""
    return max(5, round(0.5 * math.sqrt(max(n, 0))))


@dataclass
class MapResult:
    """A clustering of one set of embeddings, with its display coordinates and robustness figures."""

    xy: np.ndarray
    clusters: np.ndarray
    probabilities: np.ndarray
    seed_labelings: list[np.ndarray]
    persistence: dict[int, float]
    min_cluster_size: int
    min_samples: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def n_clusters(self) -> int:
        """Clusters found, noise excluded."""
        return len(set(self.clusters.tolist()) - {-1})

    @property
    def noise_share(self) -> float:
        """Share of points left as noise (-1)."""
        return float(np.mean(self.clusters == -1)) if len(self.clusters) else 0.0


def reduce(
    embeddings: np.ndarray,
    *,
    n_components: int,
    seed: int,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    metric: str = "cosine",
    sample_threshold: int = SAMPLE_THRESHOLD,
) -> np.ndarray:
    """UMAP of ``embeddings`` to ``n_components`` dimensions (seeded; fitted on a sample above the threshold)."""
    n = len(embeddings)
    if n <= n_components + 2:
        return _pca(embeddings, n_components)
    import umap

    model = umap.UMAP(
        n_components=n_components,
        n_neighbors=max(2, min(n_neighbors, n - 1)),
        min_dist=min_dist,
        metric=metric,
        random_state=seed,
        init="spectral" if n > n_components + 10 else "random",
    )
    with warnings.catch_warnings():
        # seeded UMAP warns that it runs single-threaded, which is the point of seeding it
        warnings.filterwarnings("ignore", message=".*n_jobs.*overridden.*")
        warnings.filterwarnings("ignore", message=".*spectral initialisation failed.*")
        if n <= sample_threshold:
            return model.fit_transform(embeddings).astype(np.float64)
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(n, size=sample_threshold, replace=False))
        model.fit(embeddings[sample])
        out = np.empty((n, n_components), dtype=np.float64)
        out[sample] = model.embedding_
        rest = np.setdiff1d(np.arange(n), sample)
        for start in range(0, len(rest), 50_000):
            part = rest[start : start + 50_000]
            out[part] = model.transform(embeddings[part])
        return out


def _pca(embeddings: np.ndarray, n_components: int) -> np.ndarray:
    centred = embeddings - embeddings.mean(axis=0)
    if len(centred) < 2:
        return np.zeros((len(centred), n_components))
    _, _, vt_ = np.linalg.svd(centred, full_matrices=False)
    out = centred @ vt_[:n_components].T
    if out.shape[1] < n_components:
        out = np.hstack([out, np.zeros((len(out), n_components - out.shape[1]))])
    return out.astype(np.float64)


def cluster_points(
    points: np.ndarray,
    *,
    min_cluster_size: int,
    min_samples: int,
    method: str = "eom",
    max_cluster_size: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """HDBSCAN labels (-1 = noise) and membership probabilities of ``points``.

    ``max_cluster_size`` (0: no limit) keeps excess-of-mass selection from picking one blob that holds
    most of the debate, which on real debates happens for some seeds and not others.
    """
    import hdbscan

    if len(points) < max(min_cluster_size, 2):
        return np.zeros(len(points), dtype=np.int64), np.ones(len(points))
    model = hdbscan.HDBSCAN(
        min_cluster_size=min_cluster_size,
        min_samples=min_samples,
        cluster_selection_method=method,
        max_cluster_size=max_cluster_size,
        core_dist_n_jobs=1,
    )
    labels = model.fit_predict(points)
    return relabel_by_size(labels), np.asarray(model.probabilities_, dtype=np.float64)


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Clusters renumbered 0..k-1 from largest to smallest; noise stays -1."""
    labels = np.asarray(labels)
    values, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = values[np.lexsort((values, -counts))]
    mapping = {int(old): new for new, old in enumerate(order)}
    return np.array([mapping.get(int(v), -1) for v in labels], dtype=np.int64)


@dataclass(frozen=True)
class HdbscanSizes:
    """HDBSCAN's size settings for one debate: the given ones, or scaled to its number of contributions."""

    min_cluster_size: int
    min_samples: int
    #: 0: no limit (a share of 1, or a limit no larger than the minimum size, is no limit)
    max_cluster_size: int

    @classmethod
    def of(cls, params: MapParams, n: int) -> HdbscanSizes:
        """The sizes ``params`` give for a debate of ``n`` contributions."""
        mcs = params.min_cluster_size or scaled_min_cluster_size(n)
        max_size = int(params.max_cluster_share * n) if 0 < params.max_cluster_share < 1 else 0
        if max_size and max_size <= mcs:
            max_size = 0
        return cls(mcs, params.min_samples or min(mcs, 3), max_size)


def _clusters_of_seed(
    embeddings: np.ndarray, seed: int, params: MapParams, sizes: HdbscanSizes
) -> tuple[np.ndarray, np.ndarray]:
    """HDBSCAN labels and probabilities in the clustering space UMAP gives under ``seed``."""
    space = reduce(
        embeddings,
        n_components=params.cluster_dims,
        seed=seed,
        n_neighbors=params.n_neighbors,
        min_dist=params.cluster_min_dist,
        metric=params.metric,
        sample_threshold=params.sample_threshold,
    )
    return cluster_points(
        space,
        min_cluster_size=sizes.min_cluster_size,
        min_samples=sizes.min_samples,
        method=params.cluster_selection_method,
        max_cluster_size=sizes.max_cluster_size,
    )


def _display_xy(embeddings: np.ndarray, params: MapParams) -> np.ndarray:
    """The 2-D UMAP shown on the map (under the first seed)."""
    return reduce(
        embeddings,
        n_components=2,
        seed=params.seeds[0],
        n_neighbors=params.n_neighbors,
        min_dist=params.display_min_dist,
        metric=params.metric,
        sample_threshold=params.sample_threshold,
    )


def compute_map(
    embeddings: np.ndarray, *, params: MapParams | None = None, progress: Progress | None = None
) -> MapResult:
    """Display coordinates, clusters under every seed, and persistence, for one set of embeddings
    (default parameters when ``params`` is None)."""
    params = params or MapParams()
    n = len(embeddings)
    sizes = HdbscanSizes.of(params, n)
    timings: dict[str, float] = {}
    labelings, probabilities = [], None
    started = time.perf_counter()
    for seed in params.seeds:
        labels, probs = _clusters_of_seed(embeddings, seed, params, sizes)
        labelings.append(labels)
        if probabilities is None:  # the first seed gives the reported clusters
            probabilities = probs
        if progress:
            progress(f"  seed {seed}: {len(set(labels.tolist()) - {-1})} clusters")
    timings["cluster_all_seeds"] = time.perf_counter() - started
    started = time.perf_counter()
    xy = _display_xy(embeddings, params)
    timings["umap_2d"] = time.perf_counter() - started
    return MapResult(
        xy=xy,
        clusters=labelings[0],
        probabilities=probabilities if probabilities is not None else np.ones(n),
        seed_labelings=labelings,
        persistence=diag.cluster_persistence(labelings[0], labelings[1:]),
        min_cluster_size=sizes.min_cluster_size,
        min_samples=sizes.min_samples,
        timings=timings,
    )
