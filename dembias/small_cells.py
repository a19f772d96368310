"""Small cells: the one threshold (``MIN_CELL``), the one test, and quote withholding.

A slice (a country, a language, an opinion group, a dimension value) with fewer than ``min_cell``
distinct contributors shows no quotes and no rates (DESIGN.md section 7). Every stage names the
threshold ``min_cell`` and takes its default from :data:`MIN_CELL`; the fidelity and interaction CLI
commands keep their old ``-k`` flag as an alias of ``--min-cell``.

A break-down table suppresses its cells under the threshold (``queries.cluster_breakdown``); a quote from
such a cell could still identify its author, so it is withheld too, whichever dimension the reader is
looking at.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

BREAKDOWN_DIMENSIONS = ("country", "language")
#: Slices with fewer distinct contributors than this are suppressed (no quotes, no rates).
MIN_CELL = 5


def is_small_cell(n_contributors: Any, *, min_cell: int = MIN_CELL) -> Any:
    """Whether a slice of ``n_contributors`` distinct contributors is suppressed (works on arrays too)."""
    return n_contributors < min_cell


def withheld_quotes(texts: pd.DataFrame, breakdowns: Mapping[str, pd.DataFrame]) -> pd.Series:
    """Per row of ``texts``, whether its quote must be withheld.

    ``texts`` has one column per dimension of ``breakdowns`` (a missing value counts as ``"unknown"``, as in
    the break-down). ``breakdowns`` maps a dimension to one cluster's break-down (columns ``value``,
    ``suppressed``). A quote is withheld when its value is a suppressed cell in any dimension.
    """
    mask = pd.Series(False, index=texts.index)
    for dimension, part in breakdowns.items():
        small = set(part.loc[part["suppressed"].astype(bool), "value"])
        mask |= texts[dimension].fillna("unknown").isin(small)
    return mask
