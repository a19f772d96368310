"""The parameters of an opinion map (:class:`MapParams`): every option that shapes a ``mapping`` run.

Light on purpose (no UMAP, HDBSCAN, scikit-learn or torch): the command line, the job queue and the
dashboard build and check parameters without loading what computes the map.
"""

from __future__ import annotations

from dataclasses import dataclass

from dembias import validation as val
from dembias.models.embedders import DEFAULT_EMBEDDER

DEFAULT_SEEDS = 5
SAMPLE_THRESHOLD = 20_000

#: The engines that compute vote groups: red-dwarf (the polis-community reimplementation of Polis's
#: math), dembias's own sparse implementation (with Polis's base clusters; the only one for matrices
#: too large for red-dwarf's dense pandas matrix), and "auto": both, keeping the better silhouette
#: (:func:`dembias.opinion_map.vote_groups.compute_vote_groups`). See docs/validity.md for how they compare with Polis.
ENGINES = ("auto", "reddwarf", "dembias")
DEFAULT_ENGINE = "auto"


@dataclass(frozen=True)
class MapParams:
    """Every option of a mapping; all its fields land in the run manifest's ``params`` (the stage contract)."""

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
    vote_engine: str = DEFAULT_ENGINE
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
    choose_engine_name(params.vote_engine)


def choose_engine_name(engine: str) -> str:
    """``engine`` when it names an engine of :data:`ENGINES`; else a ParameterError."""
    if engine not in ENGINES:
        raise val.ParameterError(f"vote group engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    return engine
