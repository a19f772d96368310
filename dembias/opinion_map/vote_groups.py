"""Polis-style opinion groups from the participant x comment vote matrix (two engines, see :data:`ENGINES`).

Votes follow Polis open data: 1 = agree, -1 = disagree, 0 = pass. Groups are recomputed as Polis does
it: participants with enough votes (at least ``min(7, n_comments)``, votes on moderated-out comments
included, their columns zeroed), missing votes imputed by the comment's mean vote, PCA to two
components, each participant's projection scaled by ``sqrt(n_comments / n_votes)`` (Polis's
correction that pulls sparse voters away from the centre), then k-means with k in 2..5 chosen by
silhouette. Two engines do this: red-dwarf's (k-means started from the first unique points, as Polis
does) and dembias's sparse one (seeded k-means++ into up to 100 base clusters, then k-means on their
size-weighted centres, as Polis clusters base clusters). Participants enter both in an order that
depends only on their votes (:func:`~dembias.opinion_map.vote_matrix.canonical_row_order`), never on
their keyed pseudonyms, so the groups are the same in every workspace.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Collection
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

from dembias.opinion_map.clustering import relabel_by_size
from dembias.opinion_map.params import DEFAULT_ENGINE, choose_engine_name
from dembias.opinion_map.vote_matrix import MIN_VOTES, centred_vote_matrix, ranked_votes, top_components
from dembias.validation import ParameterError, check_at_least

K_RANGE = (2, 5)
BASE_CLUSTERS = 100
#: Above this many participants the silhouette is computed on a seeded sample of them.
SILHOUETTE_SAMPLE = 10_000
#: "auto" runs red-dwarf too up to this many matrix cells (participants x comments); dembias only above.
REDDWARF_MAX_CELLS = 5_000_000


@dataclass(frozen=True)
class VoteGroups:
    """Recomputed opinion groups: one group per kept participant, the chosen k and the 2-D projection."""

    groups: pd.Series  # index participant_pid, values 0..k-1
    k: int
    silhouette: float
    projection: pd.DataFrame  # index participant_pid, columns pc1, pc2
    engine: str = "dembias"
    #: with engine "auto": each candidate engine's silhouette on the common projection (the one kept is the best)
    candidates: dict[str, float] = field(default_factory=dict)


def choose_engine(votes: pd.DataFrame, engine: str = DEFAULT_ENGINE) -> str:
    """What runs: ``engine`` itself; for "auto", "both" (red-dwarf and dembias, the better silhouette
    kept) when red-dwarf's dense matrix has at most :data:`REDDWARF_MAX_CELLS` cells, else "dembias"."""
    engine = choose_engine_name(engine)
    if engine != "auto":
        return engine
    cells = votes["participant_pid"].nunique() * votes["contribution_id"].nunique()
    return "both" if cells <= REDDWARF_MAX_CELLS else "dembias"


def compute_vote_groups(
    votes: pd.DataFrame,
    *,
    min_votes: int = MIN_VOTES,
    k_range: tuple[int, int] = K_RANGE,
    base_clusters: int = BASE_CLUSTERS,
    seed: int = 0,
    moderated_out: Collection[str] = (),
    engine: str = DEFAULT_ENGINE,
) -> VoteGroups | None:
    """Polis-style opinion groups; None when fewer than 10 participants have enough votes.

    ``votes`` holds every vote, those on moderated-out comments included (Polis counts them in its
    participant filter); ``moderated_out`` names those comments, whose columns are zeroed. The result
    depends only on the votes and ``seed``, never on the participants' pseudonyms or the row order.
    """
    check_at_least("min_votes", min_votes, 1)
    check_at_least("base_clusters", base_clusters, 2)
    if not 2 <= k_range[0] <= k_range[1]:
        raise ParameterError(f"k_range must be (low, high) with 2 <= low <= high, got {k_range}")
    if votes.empty:
        return None
    used = choose_engine(votes, engine)
    reddwarf = dembias = None
    if used in ("reddwarf", "both"):
        reddwarf = _reddwarf_groups(votes, min_votes=min_votes, k_range=k_range, seed=seed, moderated_out=moderated_out)
    if used in ("dembias", "both"):
        dembias = _dembias_groups(
            votes,
            min_votes=min_votes,
            k_range=k_range,
            base_clusters=base_clusters,
            seed=seed,
            moderated_out=moderated_out,
        )
    if used != "both" or reddwarf is None or dembias is None:
        return reddwarf if reddwarf is not None else dembias
    return _better_silhouette(reddwarf, dembias)


def _better_silhouette(reddwarf: VoteGroups, dembias: VoteGroups) -> VoteGroups:
    """The grouping with the higher silhouette, each as its engine measured it (ties: red-dwarf).

    The silhouette is the criterion Polis itself uses to choose k; here it also chooses between the two
    engines. Each is measured in its engine's own Polis-style projection (red-dwarf fits the PCA on every
    participant, dembias on those kept), which is how each engine chose its k. Measured against Polis's
    published groups in docs/validity.md.
    """
    scores = {"reddwarf": reddwarf.silhouette, "dembias": dembias.silhouette}
    best = dembias if scores["dembias"] > scores["reddwarf"] + 1e-12 else reddwarf
    return replace(best, candidates=scores)


def _polis_projection(matrix: sparse.csr_matrix, n_voted: np.ndarray, *, seed: int) -> np.ndarray:
    """The participants on the two leading components (signs fixed), scaled by ``sqrt(n_comments / n_votes)``."""
    components = top_components(matrix, seed=seed)
    # deterministic sign: the largest loading of each component is positive
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    projection = np.asarray(matrix @ components.T)
    return projection * np.sqrt(matrix.shape[1] / n_voted)[:, None]


def _best_k_over_base_clusters(
    projection: np.ndarray, *, k_range: tuple[int, int], base_clusters: int, seed: int
) -> tuple[float, int, np.ndarray] | None:
    """Polis's base clusters (k-means++), then k-means on their size-weighted centres for each k;
    the (silhouette, k, participants' labels) with the best silhouette, or None when no k splits them."""
    n_base = min(base_clusters, len(np.unique(projection, axis=0)))
    base = KMeans(n_clusters=n_base, n_init=1, random_state=seed).fit(projection)
    centres, weights = base.cluster_centers_, np.bincount(base.labels_, minlength=n_base)
    best: tuple[float, int, np.ndarray] | None = None
    for k in range(k_range[0], k_range[1] + 1):
        if k >= n_base:
            break
        grouping = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(centres, sample_weight=weights)
        labels = grouping.labels_[base.labels_]
        if len(set(labels)) < 2:
            continue
        sample = SILHOUETTE_SAMPLE if len(labels) > SILHOUETTE_SAMPLE else None
        score = float(silhouette_score(projection, labels, sample_size=sample, random_state=seed))
        if best is None or score > best[0] + 1e-12:
            best = (score, k, labels)
    return best


def _dembias_groups(
    votes: pd.DataFrame,
    *,
    min_votes: int,
    k_range: tuple[int, int],
    base_clusters: int,
    seed: int,
    moderated_out: Collection[str],
) -> VoteGroups | None:
    """dembias's sparse engine: PCA, Polis's scaling, 100 base clusters, k by silhouette on them."""
    matrix, index, n_voted = centred_vote_matrix(votes, min_votes=min_votes, moderated_out=moderated_out)
    if matrix.shape[0] < 10 or matrix.shape[1] < 2:
        return None
    projection = _polis_projection(matrix, n_voted, seed=seed)
    best = _best_k_over_base_clusters(projection, k_range=k_range, base_clusters=base_clusters, seed=seed)
    if best is None:
        return None
    score, k, labels = best
    return VoteGroups(
        groups=pd.Series(relabel_by_size(labels), index=index, name="vote_group"),
        k=k,
        silhouette=score,
        projection=pd.DataFrame(projection[:, :2], index=index, columns=["pc1", "pc2"]),
        engine="dembias",
    )


def _reddwarf() -> types.SimpleNamespace:
    """The red-dwarf functions used here; nothing of it that downloads (its data loader) is imported."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="pydantic")
        from reddwarf.utils.clusterer.kmeans import find_best_kmeans
        from reddwarf.utils.matrix import generate_raw_matrix, get_clusterable_participant_ids, simple_filter_matrix
        from reddwarf.utils.reducer.base import run_reducer
    return types.SimpleNamespace(
        find_best_kmeans=find_best_kmeans,
        generate_raw_matrix=generate_raw_matrix,
        get_clusterable_participant_ids=get_clusterable_participant_ids,
        simple_filter_matrix=simple_filter_matrix,
        run_reducer=run_reducer,
    )


def _reddwarf_points(
    votes: pd.DataFrame, *, min_votes: int, seed: int, moderated_out: Collection[str]
) -> tuple[np.ndarray, pd.Index] | None:
    """red-dwarf's PCA projection (Polis's scaling) of the clusterable participants, and who they are.

    Raw matrix, moderated-out comments zeroed, mean imputation; participants with at least
    ``min(min_votes, n_comments)`` votes. Participants enter as their rank in the canonical order, so
    red-dwarf's own id sort never sees a pseudonym. None when too few participants or comments.
    """
    rd = _reddwarf()
    ranked = ranked_votes(votes)
    records = pd.DataFrame({"participant_id": ranked.rows, "statement_id": ranked.cols, "vote": ranked.values})
    raw = rd.generate_raw_matrix(votes=records.to_dict("list"))
    n_comments = raw.shape[1]
    out = {str(c) for c in moderated_out}
    zeroed = [i for i, c in enumerate(ranked.comments) if c in out]
    filtered = rd.simple_filter_matrix(vote_matrix=raw, mod_out_statement_ids=zeroed)
    clusterable = rd.get_clusterable_participant_ids(raw, vote_threshold=min(min_votes, n_comments))
    if len(clusterable) < 10 or n_comments < 2:
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        warnings.filterwarnings("ignore", category=UserWarning)
        projected, _statements, _model = rd.run_reducer(
            vote_matrix=filtered.to_numpy(), reducer="pca", random_state=seed
        )
    points = pd.DataFrame(projected, index=filtered.index, columns=["pc1", "pc2"]).loc[clusterable].to_numpy()
    index = pd.Index(ranked.participants[np.asarray(clusterable, dtype=np.int64)], name="participant_pid")
    return points, index


def _reddwarf_groups(
    votes: pd.DataFrame,
    *,
    min_votes: int,
    k_range: tuple[int, int],
    seed: int,
    moderated_out: Collection[str],
) -> VoteGroups | None:
    """red-dwarf's Polis pipeline (its ``run_pipeline`` steps, without the statement statistics).

    The projection of :func:`_reddwarf_points`, clustered by k-means with Polis's deterministic
    initialisation (the first unique points), k in ``k_range`` by silhouette. red-dwarf runs here on
    in-memory arrays only.
    """
    found = _reddwarf_points(votes, min_votes=min_votes, seed=seed, moderated_out=moderated_out)
    if found is None:
        return None
    points, index = found
    high = min(k_range[1], len(np.unique(points, axis=0)) - 1)
    if high < k_range[0]:
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # sklearn: one init when centres are given
        warnings.filterwarnings("ignore", category=UserWarning)
        k, score, model = _reddwarf().find_best_kmeans(
            X_to_cluster=points, k_bounds=[k_range[0], high], init="polis", random_state=seed
        )
    if model is None:
        return None
    return VoteGroups(
        groups=pd.Series(relabel_by_size(np.asarray(model.labels_)), index=index, name="vote_group"),
        k=int(k),
        silhouette=float(score),
        projection=pd.DataFrame(points, index=index, columns=["pc1", "pc2"]),
        engine="reddwarf",
    )


def ari_vs_published(groups: pd.Series, published: pd.Series) -> float:
    """Adjusted Rand index between recomputed and published groups over participants in both."""
    common = groups.index.intersection(published.index)
    if len(common) < 2:
        return float("nan")
    return float(adjusted_rand_score(published.loc[common].to_numpy(), groups.loc[common].to_numpy()))
