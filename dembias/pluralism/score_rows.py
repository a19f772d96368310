"""A row of a summary's ``scores`` table: ``(metric, value, low, high, note)``, and its note on intervals."""

from __future__ import annotations

NAN = float("nan")
ScoreRow = tuple[str, float, float, float, str | None]


def widened_note(widened: bool) -> str | None:
    """The ``note`` of a headline whose bootstrap fell on one side of the estimate (or None)."""
    return "bootstrap on one side of the estimate: interval widened to reach it" if widened else None
