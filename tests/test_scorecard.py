"""The scorecard's cells: exact formatting of values and intervals."""

from __future__ import annotations

import math

import pandas as pd

from dembias.read.export import spreadsheet_safe, to_csv_bytes
from dembias.read.scorecard import format_cell, format_scorecard, scorecard_numbers


def test_format_cell():
    assert format_cell(0.6428, 0.4286, 0.8571) == "0.64 [0.43, 0.86]"
    assert format_cell(1.0, 1.0, 1.0) == "1.00"
    assert format_cell(3, digits=0) == "3"
    assert format_cell(None) == "—"
    assert format_cell(math.nan) == "—"


def test_format_scorecard_joins_fidelity_by_model():
    scores = pd.DataFrame(
        {
            "output_id": ["o1", "o2"],
            "model": ["smollm2", "baseline:random"],
            "survival": [0.5, 1.0],
            "survival_low": [0.25, 1.0],
            "survival_high": [0.75, 1.0],
            "placebo:survival": [0.8, 1.0],
            "jr_violations": [2.0, 0.0],
            "quality_flags": ['["repetition", "copied_title"]', "[]"],
            "n_citations": [10.0, 0.0],
            "n_supported_citations": [4.0, 0.0],
            "citation_precision": [0.4, None],
        }
    )
    fidelity = pd.DataFrame({"model": ["smollm2"], "n_pairs": [10], "mean_similarity": [0.812], "share_flagged": [0.3]})
    table = format_scorecard(scores, fidelity)
    assert table.loc[0, "Topics kept"] == "0.50 [0.25, 0.75] · placebo 0.80"
    assert table.loc[1, "Topics kept"] == "1.00 · placebo 1.00"
    assert table.loc[0, "Justified-representation violations"] == "2"
    assert table.loc[0, "Topic under-representation (UER)"] == "—"
    assert table.loc[0, "Quality"] == "repetition, copied title"
    assert table.loc[1, "Quality"] == "no problem found"
    assert table.loc[0, "Citations supported"] == "4 of 10 (40%)"
    assert table.loc[1, "Citations supported"] == "no citation"
    numbers = scorecard_numbers(scores)
    assert numbers.loc[0, ["survival_value", "survival_low", "survival_high", "survival_placebo"]].tolist() == [
        0.5,
        0.25,
        0.75,
        0.8,
    ]
    assert (table.loc[0, "Rewrites audited"], table.loc[0, "Mean similarity"], table.loc[0, "Rewrites flagged"]) == (
        10,
        "0.81",
        "30%",
    )
    assert table.loc[1, "Rewrites audited"] == 0


def test_exports_neutralise_spreadsheet_formulas():
    frame = pd.DataFrame({"text": ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "plain", "\tTAB"], "n": range(6)})
    safe = spreadsheet_safe(frame)
    assert safe["text"].tolist() == ['\'=HYPERLINK("http://x")', "'+1", "'-2", "'@SUM(A1)", "plain", "'\tTAB"]
    assert safe["n"].tolist() == list(range(6))
    lines = to_csv_bytes(frame).decode("utf-8-sig").splitlines()
    assert lines[:3] == ["text,n", '"\'=HYPERLINK(""http://x"")",0', "'+1,1"]
