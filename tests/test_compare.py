"""Comparing outputs and runs: exact results on hand-made rows."""

from __future__ import annotations

import math

import pandas as pd

from dembias.read.compare import cluster_flips, compare_metrics


def test_compare_metrics_flags_disjoint_intervals_only():
    a = pd.Series(
        {
            "survival": 0.5,
            "survival_low": 0.4,
            "survival_high": 0.6,
            "uer_topics": 0.02,
            "uer_topics_low": 0.01,
            "uer_topics_high": 0.03,
            "jr_violations": 2.0,
        }
    )
    b = pd.Series(
        {
            "survival": 0.9,
            "survival_low": 0.8,
            "survival_high": 1.0,
            "uer_topics": 0.025,
            "uer_topics_low": 0.02,
            "uer_topics_high": 0.04,
            "jr_violations": 2.0,
        }
    )
    table = compare_metrics(a, b, metrics=("survival", "uer_topics", "jr_violations", "coverage")).set_index("metric")
    assert table.loc["survival", "moved_beyond_intervals"] is True
    assert math.isclose(table.loc["survival", "delta"], 0.4)
    assert table.loc["uer_topics", "moved_beyond_intervals"] is False  # intervals overlap
    assert table.loc["jr_violations", "moved_beyond_intervals"] is False  # no interval, same value
    assert table.loc["coverage", "moved_beyond_intervals"] is None  # missing on both sides


def test_cluster_flips():
    a = pd.DataFrame(
        {
            "cluster": [-1, 0, 1, 2, 3],
            "label": ["noise", "a", "b", "c", "d"],
            "size": [9, 50, 30, 5, 4],
            "covered": [True, True, True, False, False],
        }
    )
    b = pd.DataFrame({"cluster": [-1, 0, 1, 2, 3], "covered": [False, True, False, True, False]})
    flips = cluster_flips(a, b)
    assert flips[["cluster", "change"]].values.tolist() == [
        [1, "dropped in B"],
        [2, "gained in B"],
        [0, "kept"],
        [3, "dropped by both"],
    ]
