"""Small-cell protection for quotes: no quote from an author whose country or language cell is too small.

A break-down table suppresses its cells under the threshold (``queries.cluster_breakdown``); a quote from
such a cell could still identify its author, so it is withheld too, whichever dimension the reader is
looking at.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

BREAKDOWN_DIMENSIONS = ("country", "language")


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
