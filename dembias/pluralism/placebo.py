"""The placebo beside every pluralism score: the same summary with its links redrawn at random.

Each unit keeps its number of linked contributions; which contributions it links is drawn uniformly
at random (without replacement) from the debate, ``n_draws`` times with a seed derived from the run's
seed. The draws are scored by the same code as the summary itself. A headline near its placebo says
the summary reaches topics (or groups) no better than as many links thrown at random would; the
difference is what the summary's choice of content adds (or removes: a summary that dwells on one
topic reaches fewer topics than random links of the same volume).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from dembias.pluralism.opinion_groups import opinion_group_table
from dembias.pluralism.topics import TOPIC_INTERVAL_METRICS, UNDER_REPRESENTED_RATIO, TopicCells, topic_point_at

#: Headlines the placebo is computed for.
PLACEBO_METRICS = (*TOPIC_INTERVAL_METRICS, "uer_opinion_groups")


def random_links(links: pd.DataFrame, ids: pd.Series, rng: np.random.Generator) -> pd.DataFrame:
    """``links`` with each unit's contributions redrawn uniformly (same count per unit, no repeats)."""
    units, positions = random_positions(links.groupby("unit_index")["contribution_id"].nunique(), len(ids), rng)
    return pd.DataFrame({"unit_index": units, "contribution_id": ids.to_numpy()[positions]})


def random_positions(per_unit: pd.Series, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(unit of each drawn link, drawn contribution position) for ``per_unit`` links per unit among ``n``."""
    units, chosen = [], []
    for unit, k in per_unit.items():
        k = min(int(k), n)
        units.append(np.full(k, unit))
        chosen.append(rng.choice(n, size=k, replace=False))
    if not chosen:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    return np.concatenate(units), np.concatenate(chosen)


def placebo_headlines(
    cells: TopicCells,
    links: pd.DataFrame,
    *,
    stances_of: Callable[[pd.DataFrame], pd.DataFrame] | None = None,
    participant_groups: pd.Series | None = None,
    n_draws: int = 20,
    seed: int = 0,
    minority_share: float = 0.2,
    unfair_ratio: float = UNDER_REPRESENTED_RATIO,
) -> dict[str, tuple[float, float, float]]:
    """metric -> (mean, 2.5th, 97.5th percentile) over ``n_draws`` random-links placebos.

    ``stances_of`` (links -> unit stances) and ``participant_groups`` add the opinion-group UER.
    """
    rng = np.random.default_rng([seed, 0x9E3779B9])
    values: dict[str, list[float]] = {m: [] for m in PLACEBO_METRICS}
    per_unit = links.groupby("unit_index")["contribution_id"].nunique()
    ids = cells.ids.to_numpy()
    for _ in range(n_draws):
        units, positions = random_positions(per_unit, len(ids), rng)
        point = topic_point_at(cells, units, positions, minority_share=minority_share, unfair_ratio=unfair_ratio)
        drawn = pd.DataFrame({"unit_index": units, "contribution_id": ids[positions]})
        for metric in PLACEBO_METRICS[:-1]:
            values[metric].append(point[metric])
        if stances_of is not None and participant_groups is not None:
            _, head = opinion_group_table(
                participant_groups, stances_of(drawn), unfair_ratio=unfair_ratio, n_resamples=1
            )
            values["uer_opinion_groups"].append(head["uer_opinion_groups"][0])
    out = {}
    for metric, sample in values.items():
        arr = np.asarray(sample, dtype=float)
        arr = arr[~np.isnan(arr)]
        if arr.size:
            out[metric] = (float(arr.mean()), float(np.quantile(arr, 0.025)), float(np.quantile(arr, 0.975)))
    return out
