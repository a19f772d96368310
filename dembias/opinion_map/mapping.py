"""The opinion map of a debate: UMAP for display, HDBSCAN opinion clusters, labels, vote groups, diagnostics.

Per debate (accepted, non-rejected contributions by default):

* a 2-D UMAP of the embeddings for display;
* a clustering space: UMAP to a few dimensions (above ``sample_threshold`` points it is fitted on a
  seeded sample and the rest transformed), clustered with HDBSCAN whose ``min_cluster_size`` scales
  with the debate (``max(5, round(0.5 * sqrt(N)))`` unless given); noise stays cluster -1 and is
  reported;
* the same clustering under several seeds gives the stability ARI and each cluster's persistence;
* c-TF-IDF keywords and representative contributions per cluster;
* when the debate has votes: Polis-style vote groups, per-group comment statistics, group-aware
  consensus, and how each vote group voted on each cluster.

Everything lands in one run of stage ``mapping`` (tables listed in :func:`map_debate`).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from dembias import validation as val
from dembias.models.embedders import DEFAULT_EMBEDDER
from dembias.opinion_map import diagnostics as diag
from dembias.opinion_map import votes as vt

Progress = Callable[[str], None]

MAPPING_STAGE = "mapping"
DEFAULT_SEEDS = 5
SAMPLE_THRESHOLD = 20_000
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


@dataclass(frozen=True)
class MapParams:
    """Parameters of a mapping (recorded in the run manifest)."""

    n_seeds: int = DEFAULT_SEEDS
    first_seed: int = 0
    min_cluster_size: int | None = None
    min_samples: int | None = None
    n_neighbors: int = 15
    cluster_dims: int = 5
    display_min_dist: float = 0.1
    cluster_min_dist: float = 0.0
    metric: str = "cosine"
    sample_threshold: int = SAMPLE_THRESHOLD
    cluster_selection_method: str = "eom"
    max_cluster_share: float = 0.5
    vote_engine: str = vt.DEFAULT_ENGINE
    #: the embedder's spec (:func:`dembias.models.embedders.parse_embedder_spec`), loaded unless a caller
    #: hands the stage one already loaded
    embedder_spec: str = DEFAULT_EMBEDDER
    #: map moderated-out (rejected) contributions too
    include_rejected: bool = False

    def __post_init__(self) -> None:
        check_map_params(self)

    @property
    def seeds(self) -> list[int]:
        """The seeds used: the first one gives the reported clustering, all of them the stability."""
        return list(range(self.first_seed, self.first_seed + max(1, self.n_seeds)))


def check_map_params(params: MapParams) -> None:
    """Refuse parameters outside their ranges (a :class:`~dembias.validation.ParameterError`)."""
    val.check_at_least("n_seeds", params.n_seeds, 1)
    val.check_at_least("first_seed", params.first_seed, 0)
    if params.min_cluster_size is not None:
        val.check_at_least("min_cluster_size", params.min_cluster_size, 2)
    if params.min_samples is not None:
        val.check_at_least("min_samples", params.min_samples, 1)
    val.check_at_least("n_neighbors", params.n_neighbors, 2)
    val.check_at_least("cluster_dims", params.cluster_dims, 2)
    val.check_range("display_min_dist", params.display_min_dist, low=0, high=1)
    val.check_range("cluster_min_dist", params.cluster_min_dist, low=0, high=1)
    val.check_at_least("sample_threshold", params.sample_threshold, 100)
    val.check_share("max_cluster_share", params.max_cluster_share, closed=True)
    if params.cluster_selection_method not in ("eom", "leaf"):
        raise val.ParameterError(
            f"cluster_selection_method must be eom or leaf, got {params.cluster_selection_method!r}"
        )
    vt.choose_engine_name(params.vote_engine)


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
    return _relabel_by_size(labels), np.asarray(model.probabilities_, dtype=np.float64)


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Clusters renumbered 0..k-1 from largest to smallest; noise stays -1."""
    labels = np.asarray(labels)
    values, counts = np.unique(labels[labels >= 0], return_counts=True)
    order = values[np.lexsort((values, -counts))]
    mapping = {int(old): new for new, old in enumerate(order)}
    return np.array([mapping.get(int(v), -1) for v in labels], dtype=np.int64)


def compute_map(
    embeddings: np.ndarray, *, params: MapParams = MapParams(), progress: Progress | None = None
) -> MapResult:
    """Display coordinates, clusters under every seed, and persistence, for one set of embeddings."""
    n = len(embeddings)
    mcs = params.min_cluster_size or scaled_min_cluster_size(n)
    min_samples = params.min_samples or min(mcs, 3)
    max_size = int(params.max_cluster_share * n) if 0 < params.max_cluster_share < 1 else 0
    if max_size and max_size <= mcs:
        max_size = 0
    timings: dict[str, float] = {}
    labelings, probabilities = [], None
    started = time.perf_counter()
    for i, seed in enumerate(params.seeds):
        space = reduce(
            embeddings,
            n_components=params.cluster_dims,
            seed=seed,
            n_neighbors=params.n_neighbors,
            min_dist=params.cluster_min_dist,
            metric=params.metric,
            sample_threshold=params.sample_threshold,
        )
        labels, probs = cluster_points(
            space,
            min_cluster_size=mcs,
            min_samples=min_samples,
            method=params.cluster_selection_method,
            max_cluster_size=max_size,
        )
        labelings.append(labels)
        if i == 0:
            probabilities = probs
        if progress:
            progress(f"  seed {seed}: {len(set(labels.tolist()) - {-1})} clusters")
    timings["cluster_all_seeds"] = time.perf_counter() - started
    started = time.perf_counter()
    xy = reduce(
        embeddings,
        n_components=2,
        seed=params.seeds[0],
        n_neighbors=params.n_neighbors,
        min_dist=params.display_min_dist,
        metric=params.metric,
        sample_threshold=params.sample_threshold,
    )
    timings["umap_2d"] = time.perf_counter() - started
    persistence = diag.cluster_persistence(labelings[0], labelings[1:])
    return MapResult(
        xy=xy,
        clusters=labelings[0],
        probabilities=probabilities if probabilities is not None else np.ones(n),
        seed_labelings=labelings,
        persistence=persistence,
        min_cluster_size=mcs,
        min_samples=min_samples,
        timings=timings,
    )


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
