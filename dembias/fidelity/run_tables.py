"""The tables of a ``fidelity`` run, built from a debate's scored pairs.

* ``pairs(output_id, debate_id, task, model, source_ids, source_language, target_language, output_language,
  language_pair, country, vote_group, cluster, cluster_size, similarity, similarity_percentile, n_null,
  length_ratio, n_flags, flag_kinds, stance_checked, stance_note, lexical_stance_flip, entailment_forward,
  entailment_backward, entailment_min, stance_flip, stance_scored, review_score, <group_by columns>)``
* ``flags(output_id, kind, words, detail)`` (from :func:`dembias.fidelity.pair_scoring.score_pairs`)
* ``aggregates(metric, dimension, value, n, n_contributors, mean, low, high, suppressed)``: by language pair,
  source and output language, country, model x language pair x country, opinion cluster, minority/majority
  cluster, vote group (the source author's published Polis group), task, model and any ``group_by`` column,
  with bootstrap intervals and cells under ``min_cell`` contributors suppressed;
* ``tests(metric, dimension, group_a, group_b, n_a, n_b, mean_a, mean_b, difference, difference_low,
  difference_high, effect_size, p_value, q_value, family_size)``: pairwise tests between groups
  (:func:`dembias.fidelity.metrics.group_tests`: permutation p-values, Benjamini-Hochberg q-values over the
  run's tests, difference intervals, Cohen's d).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd

from dembias.fidelity.metrics import PAIR_COUNTRY, aggregate, group_tests

if TYPE_CHECKING:
    from dembias.fidelity.params import FidelityParams

DIMENSIONS = (
    "language_pair",
    "source_language",
    "output_language",
    "country",
    PAIR_COUNTRY,
    "cluster",
    "cluster_size",
    "vote_group",
    "task",
    "model",
)
TEST_DIMENSIONS = ("language_pair", "source_language", "country", "cluster_size", "vote_group", "task", "model")
TEST_METRICS = ("similarity", "review_score", "lexical_stance_flip")
AGGREGATE_METRICS = (
    "similarity",
    "similarity_percentile",
    "review_score",
    "flagged",
    "negation_flagged",
    "lexical_stance_flip",
    "language_mismatch",
)

#: The columns of the run's ``pairs`` table, before the ``group_by`` keys.
PAIR_COLUMNS = [
    "output_id",
    "debate_id",
    "task",
    "model",
    "source_ids",
    "source_language",
    "target_language",
    "output_language",
    "language_pair",
    "country",
    "vote_group",
    "cluster",
    "cluster_size",
    "similarity",
    "similarity_percentile",
    "n_null",
    "length_ratio",
    "n_flags",
    "flag_kinds",
    "stance_checked",
    "stance_note",
    "lexical_stance_flip",
    "entailment_forward",
    "entailment_backward",
    "entailment_min",
    "stance_flip",
    "stance_scored",
    "review_score",
]


def pairs_table(scored: pd.DataFrame, group_by: Sequence[str]) -> pd.DataFrame:
    """The run's ``pairs`` table: the pair columns and the group-by keys, lists as lists."""
    table = scored[[*PAIR_COLUMNS, *group_by]].copy()
    table["source_ids"] = table["source_ids"].map(list)
    table["flag_kinds"] = table["flag_kinds"].map(list)
    return table


def aggregates_and_tests(
    scored: pd.DataFrame, params: FidelityParams, *, stance_scored: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Aggregates per dimension (with intervals) and the tests between groups (permutation, BH over the run)."""
    stance = ["entailment_min", "stance_flip_rate"] if stance_scored else []
    group_by = params.group_by
    aggregates = aggregate(
        scored,
        metrics=[*AGGREGATE_METRICS, *stance],
        dimensions=[*DIMENSIONS, *(key for key in group_by if key not in DIMENSIONS)],
        min_cell=params.min_cell,
        n_resamples=params.n_resamples,
        seed=params.seed,
    )
    tests = group_tests(
        scored,
        metrics=[*TEST_METRICS, *(["stance_flip_rate"] if stance_scored else [])],
        dimensions=[*TEST_DIMENSIONS, *(key for key in group_by if key not in TEST_DIMENSIONS)],
        min_cell=params.min_cell,
        n_permutations=params.n_permutations,
        n_resamples=params.n_resamples,
        seed=params.seed,
        reference=params.reference or None,
    )
    return aggregates, tests
