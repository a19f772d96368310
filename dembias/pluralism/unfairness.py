"""Unfairness over a dimension (topics, opinion groups, declared groups): UER, the unfair flag, and BUR
over a set of summaries. Definitions: :mod:`dembias.pluralism.metrics`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dembias.pluralism.topics import UNDER_REPRESENTED_RATIO


def uer(p_s: pd.Series, p_t: pd.Series) -> float:
    """Unfair error rate (1/|V|) Σ_v max(0, p_s(v) - p_t(v)) over the values of ``p_s``."""
    if len(p_s) == 0:
        return float("nan")
    p_t = p_t.reindex(p_s.index).fillna(0.0)
    return float(np.maximum(0.0, p_s - p_t).mean())


def is_unfair(p_s: pd.Series, p_t: pd.Series, *, unfair_ratio: float = UNDER_REPRESENTED_RATIO) -> float:
    """1.0 when some value has p_t(v) <= unfair_ratio * p_s(v), else 0.0 (nan with no value)."""
    if len(p_s) == 0:
        return float("nan")
    p_t = p_t.reindex(p_s.index).fillna(0.0)
    return float(bool(np.any(p_t <= unfair_ratio * p_s)))


def binary_unfair_rate(unfair_flags: Sequence[float]) -> tuple[float, int]:
    """BUR (Zhang et al. 2024): the share of unfair summaries in a set, and the set's size (NaNs left out)."""
    flags = np.asarray([f for f in unfair_flags if f is not None and not np.isnan(f)], dtype=float)
    return (float(flags.mean()) if flags.size else float("nan"), int(flags.size))
