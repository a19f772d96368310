"""Checks and parsing of a source's fields: whole numbers, votes, texts, unique and present ids, timestamps.

Each failure is an :class:`~dembias.errors.IngestError` naming the file, the row and the field.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dembias.errors import IngestError

VOTE_VALUES = frozenset({-1, 0, 1})


#: Largest magnitude of a stored whole number (the corpus stores counts and groups as 32-bit INTEGER).
INT_LIMIT = 2**31 - 1


def parse_int_column(
    path: Path,
    frame: pd.DataFrame,
    column: str,
    *,
    allowed: frozenset[int] | None = None,
    minimum: int | None = None,
) -> pd.Series:
    """Parse a string column into nullable integers; blank is missing; anything else non-integral raises."""
    raw = frame[column].astype(str).str.strip()
    numbers = pd.to_numeric(raw.where(raw != "", None), errors="coerce")
    bad = (raw != "") & (numbers.isna() | ~np.isfinite(numbers.fillna(0)) | (numbers.fillna(0) % 1 != 0))
    if allowed is not None:
        bad |= numbers.notna() & ~numbers.isin(list(allowed))
    if minimum is not None:
        bad |= numbers.notna() & (numbers < minimum)
    bad |= numbers.notna() & (numbers.abs() > INT_LIMIT)
    if bad.any():
        first = bad.idxmax()
        expected = f"one of {sorted(allowed)}" if allowed is not None else "a whole number"
        if minimum is not None:
            expected += f" >= {minimum}"
        if allowed is None:
            expected += f" of at most {INT_LIMIT}"
        raise IngestError(
            path,
            f"{raw[first]!r} is not {expected}",
            row=int(frame.loc[first, "_row"]),
            field=column,
        )
    return numbers.astype("Int64")


#: Longest text accepted by default (characters); ``$DEMBIAS_MAX_TEXT_CHARS`` changes it. A 10 MB
#: contribution was accepted before, and mapping its debate then took 22 GiB and was killed.
DEFAULT_MAX_TEXT_CHARS = 100_000


def max_text_chars() -> int:
    """The longest contribution text accepted at ingest: ``$DEMBIAS_MAX_TEXT_CHARS``, else 100,000."""
    raw = os.environ.get("DEMBIAS_MAX_TEXT_CHARS", "").strip()
    if not raw:
        return DEFAULT_MAX_TEXT_CHARS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise IngestError("$DEMBIAS_MAX_TEXT_CHARS", f"{raw!r} is not a whole number of characters >= 1")
    return value


def require_text(path: Path, frame: pd.DataFrame, column: str, *, what: str = "text") -> pd.Series:
    """The column as strings; raises on the first empty value and on the first longer than
    :func:`max_text_chars`."""
    values = frame[column].astype(str)
    empty = values.str.strip() == ""
    if empty.any():
        first = empty.idxmax()
        raise IngestError(path, f"empty {what}", row=int(frame.loc[first, "_row"]), field=column)
    limit = max_text_chars()
    lengths = values.str.len()
    if (lengths > limit).any():
        first = (lengths > limit).idxmax()
        raise IngestError(
            path,
            f"{what} of {int(lengths[first]):,} characters, longer than the limit of {limit:,}",
            row=int(frame.loc[first, "_row"]),
            field=column,
            hint="split it, or raise the limit with DEMBIAS_MAX_TEXT_CHARS",
        )
    return values


def require_unique(path: Path, frame: pd.DataFrame, column: str) -> None:
    """Raise on the first repeated value of ``column``."""
    duplicated = frame[column].duplicated()
    if duplicated.any():
        first = duplicated.idxmax()
        raise IngestError(
            path,
            f"duplicate id {frame.loc[first, column]!r}",
            row=int(frame.loc[first, "_row"]),
            field=column,
        )


def parse_timestamps(path: Path, frame: pd.DataFrame, column: str, *, unit: str | None = None) -> pd.Series:
    """Parse timestamps (epoch numbers with ``unit``, else ISO 8601); blank is missing."""
    raw = frame[column].astype(str).str.strip()
    present = raw != ""
    if unit:
        numbers = pd.to_numeric(raw.where(present, None), errors="coerce")
        parsed = pd.to_datetime(numbers, unit=unit, errors="coerce")
    else:
        parsed = pd.to_datetime(raw.where(present, None), errors="coerce", utc=True, format="mixed")
        parsed = parsed.dt.tz_localize(None)
    bad = present & parsed.isna()
    if bad.any():
        first = bad.idxmax()
        raise IngestError(path, f"{raw[first]!r} is not a timestamp", row=int(frame.loc[first, "_row"]), field=column)
    return parsed.astype("datetime64[us]")


def json_or_none(value: Mapping[str, Any] | None) -> str | None:
    """Serialise a metadata mapping to JSON text (None when empty); NaN and inf become null."""
    if not value:
        return None
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in value.items()}
    return json.dumps(clean, ensure_ascii=False, sort_keys=True, default=str)


def require_ids(path: Path, frame: pd.DataFrame, column: str, *, what: str = "id") -> pd.Series:
    """The column stripped; raises on the first empty value (ids that must be present, e.g. voters)."""
    values = frame[column].astype(str).str.strip()
    empty = values == ""
    if empty.any():
        first = empty.idxmax()
        raise IngestError(path, f"empty {what}", row=int(frame.loc[first, "_row"]), field=column)
    return values
