"""Small cells: the one threshold (``MIN_CELL``), the one test, and what is hidden because of it.

A slice (a country, a language, an opinion group, a dimension value) with fewer than ``min_cell``
distinct contributors shows no count and no rate (DESIGN.md section 7, docs/privacy.md section 3). Every
stage names the threshold ``min_cell`` and takes its default from :data:`MIN_CELL`; the fidelity and
interaction CLI commands keep their old ``-k`` flag as an alias of ``--min-cell``.

* :func:`is_small_cell` is the test; :func:`small_cells` applies it to cells counted by contributions and
  authors, for every break-down (``queries.cluster_breakdown``, ``left_out.slice_breakdown``) and every
  vote rate of a slice.
* :func:`public_attributes` is the rule for a contribution shown as a quote, identical on every view (the
  map's points and lasso table, Minorities, What it left out, the report): the text is shown, its
  country and language only when the debate has at least ``min_cell`` contributors with that pair.
* :func:`withheld_quotes` withholds whole quotes; it is kept for texts that were not published to the
  other participants (interaction drafts, :mod:`dembias.fidelity.interaction_slices`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


#: The small-cell threshold k: a slice with fewer contributors than this shows no count, no rate and reveals no
#: contributor's country or language (docs/privacy.md, section 3). The scoring functions take it as ``min_cell``.
MIN_CELL = 5


def is_small_cell(n_contributors: Any, *, min_cell: int = MIN_CELL) -> Any:
    """Whether a slice of ``n_contributors`` distinct contributors is suppressed (works on arrays too)."""
    return n_contributors < min_cell


def withheld_label(min_cell: int = MIN_CELL) -> str:
    """What a reader sees in place of a country or language that fewer than ``min_cell`` contributors share."""
    return f"withheld (fewer than {min_cell} contributors)"


def small_cells(n: pd.Series, n_authors: pd.Series | None = None, *, min_cell: int = MIN_CELL) -> pd.Series:
    """The one small-cell test: per cell, whether it has fewer than ``min_cell`` contributors.

    Contributors are the cell's distinct authors where authors are known (``n_authors`` > 0), else its
    contributions (``n``). Every suppression in the dashboard and the reports goes through this function.
    """
    contributors = n if n_authors is None else n_authors.where(n_authors > 0, n)
    return is_small_cell(contributors, min_cell=min_cell)


def public_attributes(frame: pd.DataFrame, cells: pd.DataFrame, *, min_cell: int = MIN_CELL) -> pd.DataFrame:
    """``frame`` with its ``country`` and ``language`` withheld where the debate has few such contributors.

    The rule (docs/privacy.md, section 3): a contribution's text is public (it was written to be read by
    the other participants, and it is what the audit is about), so it is always shown; its country and
    language are shown only when at least ``min_cell`` contributors of the debate share that (country,
    language) pair, else both read :func:`withheld_label`. ``cells`` holds the debate's pairs with their
    counts (columns country, language, n, n_authors: :func:`dembias.read.queries.attribute_cells`). A missing
    value counts as ``"unknown"``, as in the break-downs. Rows of ``frame`` keep their order and index.
    """
    if frame.empty or not {"country", "language"} <= set(frame.columns):
        return frame
    large = cells.loc[~small_cells(cells["n"], cells["n_authors"], min_cell=min_cell), ["country", "language"]]
    shown = set(zip(large["country"], large["language"], strict=True))  # a pair not counted at all is withheld
    keys = zip(frame["country"].fillna("unknown"), frame["language"].fillna("unknown"), strict=True)
    mask = pd.Series([k not in shown for k in keys], index=frame.index, dtype=bool)
    out = frame.copy()
    label = withheld_label(min_cell)
    for column in ("country", "language"):
        out[column] = out[column].astype(object).where(~mask, label)
    return out
