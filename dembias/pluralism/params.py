"""The options of a pluralism run (:class:`PluralismParams`): every one lands in the run's manifest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dembias.small_cells import MIN_CELL
from dembias.validation import check_at_least, check_share


@dataclass(frozen=True)
class PluralismParams:
    """What shapes a pluralism run of one debate.

    - ``output_ids``: the summaries to score (``None``: every summary of the debate; each named one
      must exist).
    - ``group_by``: contribution columns (or metadata keys) to slice coverage by (declared groups).
    - ``minority_share``: minority topics (the smallest clusters) hold at most this share.
    - ``min_cell``: slices with fewer contributors are suppressed.
    - ``n_resamples``: bootstrap resamples; ``n_placebo``: random-links placebo draws per output.
    - ``seed``: the random seed (support calibration, bootstrap, placebo).
    - ``include_rejected``: score against moderated-out contributions too.
    - ``nli_model``: NLI model id or path to link outputs without citations (``None``: similarity).
    - ``embedder``: embedder spec (``None``: the one the debate's mapping run used).
    """

    output_ids: tuple[str, ...] | None = None
    group_by: tuple[str, ...] = ()
    minority_share: float = 0.2
    min_cell: int = MIN_CELL
    n_resamples: int = 1000
    n_placebo: int = 20
    seed: int = 0
    include_rejected: bool = False
    nli_model: str | None = None
    embedder: str | None = None

    def __post_init__(self) -> None:
        # lists given by callers become tuples, so the params stay hashable and frozen
        if self.output_ids is not None:
            object.__setattr__(self, "output_ids", _strings(self.output_ids))
        object.__setattr__(self, "group_by", _strings(self.group_by))
        check_share("minority_share", self.minority_share)
        check_at_least("min_cell", self.min_cell, 1)
        check_at_least("n_resamples", self.n_resamples, 1)
        check_at_least("n_placebo", self.n_placebo, 0)
        check_at_least("seed", self.seed, 0)


def _strings(values: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(values, str):
        return (values,)
    return tuple(str(v) for v in values)
