"""The options of a fidelity run (:class:`FidelityParams`), each recorded in the run's manifest."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dembias.fidelity.metrics import PAIR_COUNTRY
from dembias.fidelity.run_tables import PAIR_COLUMNS
from dembias.models.embedders import DEFAULT_EMBEDDER
from dembias.small_cells import MIN_CELL
from dembias.validation import check_at_least


@dataclass(frozen=True)
class FidelityParams:
    """Everything that shapes a ``fidelity`` run (:func:`dembias.fidelity.run`).

    - ``embedder_spec``: the embedder of similarity (loaded unless the caller hands one in);
    - ``nli_model``: a transformers NLI model id or folder scoring entailment and stance flips (None: stance
      is not scored, and the run says so);
    - ``n_null``: unrelated contributions in each output's null (at least 10); ``min_cell``: contributors
      under which a slice is suppressed; ``n_resamples`` (bootstraps), ``n_permutations`` (tests), ``seed``;
    - ``include_rejected``: also score rewrites of rejected contributions (and draw the null from them);
    - ``group_by``: source metadata keys added as aggregate and test dimensions (a name that is already a
      pair column or dimension, such as ``country``, is that dimension: it is dropped here, and repeats once);
    - ``reference``: a dimension -> the named value the other groups are compared with (e.g.
      ``{"model": "human"}``); without one, groups are compared pairwise.
    """

    embedder_spec: str = DEFAULT_EMBEDDER
    nli_model: str | None = None
    n_null: int = 500
    min_cell: int = MIN_CELL
    n_resamples: int = 1000
    n_permutations: int = 10000
    seed: int = 0
    include_rejected: bool = False
    group_by: tuple[str, ...] = ()
    reference: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_at_least("n_null", self.n_null, 10)
        check_at_least("min_cell", self.min_cell, 1)
        check_at_least("n_resamples", self.n_resamples, 1)
        check_at_least("n_permutations", self.n_permutations, 1)
        check_at_least("seed", self.seed, 0)
        # names that are already pair columns (country, task...) are dimensions anyway: not read from metadata
        keys = tuple(key for key in dict.fromkeys(self.group_by) if key not in PAIR_COLUMNS and key != PAIR_COUNTRY)
        object.__setattr__(self, "group_by", keys)
        object.__setattr__(self, "reference", dict(self.reference or {}))
