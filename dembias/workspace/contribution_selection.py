"""Which contributions of a debate a stage reads: the one selection, with its rules as explicit options.

Every stage that reads contributions goes through :func:`select_contributions`, so the rules are the
same everywhere and visible at the call:

- rejected (moderated-out) contributions are left out unless ``include_rejected``;
- ``ids`` restricts the selection to given contribution ids (None: all of them);
- ``debate_defaults`` fills a contribution's missing language and country with its debate's (a Polis
  export records them once per conversation); without it they stay missing;
- rows come in contribution id order; with ``numeric_order``, numeric ids by value first (``2`` before
  ``10``), then the other ids as text (the order generation prompts list contributions in).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from dembias.errors import DembiasError

#: Column name -> SQL expression (``c`` is contributions, ``d`` debates, ``p`` participants).
_COLUMNS = {
    "debate_id": "c.debate_id",
    "contribution_id": "c.contribution_id",
    "text": "c.text",
    "language": "c.language",
    "country": "c.country",
    "author_pid": "c.author_pid",
    "n_agree": "c.n_agree",
    "n_disagree": "c.n_disagree",
    "n_pass": "c.n_pass",
    "metadata": "c.metadata",
    "is_rejected": "c.is_rejected",
    "published_group": "p.published_group",
}
_DEBATE_DEFAULTS = {"language": "coalesce(c.language, d.language)", "country": "coalesce(c.country, d.country)"}
DEFAULT_COLUMNS = ("contribution_id", "text", "language", "country", "author_pid")


def selection_sql(
    columns: Sequence[str], *, include_rejected: bool, ids: bool, debate_defaults: bool, many_debates: bool = False
) -> str:
    """The SQL of a selection (columns whitelisted; the debate id, and the ids list, are parameters)."""
    unknown = [c for c in columns if c not in _COLUMNS]
    if unknown:
        raise DembiasError(f"unknown contribution column(s) {unknown}: use {', '.join(_COLUMNS)}")
    exprs = [
        f"{_DEBATE_DEFAULTS[c] if debate_defaults and c in _DEBATE_DEFAULTS else _COLUMNS[c]} AS {c}" for c in columns
    ]
    joins = "JOIN debates d ON d.debate_id = c.debate_id"
    if "published_group" in columns:
        joins += " LEFT JOIN participants p ON p.debate_id = c.debate_id AND p.participant_pid = c.author_pid"
    where = ["list_contains($debates::VARCHAR[], c.debate_id)" if many_debates else "c.debate_id = $debate"]
    if not include_rejected:
        where.append("NOT c.is_rejected")
    if ids:
        where.append("list_contains($ids::VARCHAR[], c.contribution_id)")
    order = "c.debate_id, c.contribution_id" if many_debates else "c.contribution_id"
    return f"SELECT {', '.join(exprs)} FROM contributions c {joins} WHERE {' AND '.join(where)} ORDER BY {order}"


def select_contributions(
    con: Any,
    *,
    debate_id: str | Sequence[str],
    include_rejected: bool = False,
    ids: Sequence[str] | None = None,
    columns: Sequence[str] = DEFAULT_COLUMNS,
    debate_defaults: bool = True,
    numeric_order: bool = False,
) -> pd.DataFrame:
    """A debate's contributions (or several debates', given a list of ids) on an open corpus connection.

    Options: see the module docstring. ``columns`` are names from the contributions table, plus
    ``published_group`` (the author's Polis group); ``numeric_order`` needs ``contribution_id`` among them.
    """
    many = not isinstance(debate_id, str)
    sql = selection_sql(
        columns,
        include_rejected=include_rejected,
        ids=ids is not None,
        debate_defaults=debate_defaults,
        many_debates=many,
    )
    params: dict[str, Any] = {"debates": [str(d) for d in debate_id]} if many else {"debate": debate_id}
    if ids is not None:
        params["ids"] = [str(i) for i in ids]
    frame = con.execute(sql, params).df()
    if numeric_order:
        keys = [numeric_id_key(c) for c in frame["contribution_id"]]
        if "debate_id" in frame:  # several debates stay in debate order
            keys = list(zip(frame["debate_id"], keys, strict=True))
        frame = frame.iloc[sorted(range(len(frame)), key=keys.__getitem__)].reset_index(drop=True)
    return frame


def numeric_id_key(contribution_id: str) -> tuple[int, int | str]:
    """Sort key of ``numeric_order``: numeric ids by value, before the other ids as text."""
    text = str(contribution_id)
    return (0, int(text)) if text.isdigit() else (1, text)
