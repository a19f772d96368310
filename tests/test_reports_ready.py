"""Issue 17 item 6 (exports, refusals, annotations with author and output) and the pages' findings (item 1)."""

from __future__ import annotations

import io
import json

import duckdb
import pandas as pd
import pytest

from dembias import jobs
from dembias.errors import DembiasError
from dembias.ingest import ingest_polis
from dembias.read.export import to_csv_bytes
from dembias.read.page_findings import annotations_finding, compare_finding, fidelity_finding, unscored_finding
from dembias.read.scorecard import scorecard_numbers
from dembias.workspace.annotations import Annotation, add_annotation, list_annotations
from dembias.workspace.folder import Workspace
from tests.helpers import polis_folder


def test_scorecard_csv_has_numeric_value_low_high_and_json_lists():
    scores = pd.DataFrame(
        {
            "output_id": ["o1"],
            "model": ["m"],
            "survival": [0.003],
            "survival_low": [0.001],
            "survival_high": [0.006],
            "quality_flags": ['["repetition"]'],
        }
    )
    frame = scorecard_numbers(scores).assign(cited=[["c1", "c2"]])
    back = pd.read_csv(io.BytesIO(to_csv_bytes(frame)), encoding="utf-8-sig")
    assert back[["survival_value", "survival_low", "survival_high"]].dtypes.map(pd.api.types.is_float_dtype).all()
    assert back.loc[0, ["survival_value", "survival_low", "survival_high"]].tolist() == [0.003, 0.001, 0.006]
    assert json.loads(back.loc[0, "cited"]) == ["c1", "c2"]
    assert json.loads(back.loc[0, "quality_flags"]) == ["repetition"]


def test_empty_model_path_is_refused(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ingest_polis(ws, polis_folder(tmp_path / "export"), debate_id="t", language="en")
    for blank in ("", "   "):
        with pytest.raises(DembiasError, match="model id or local path is empty"):
            jobs.submit_job(ws, stage="embed", debate_id="t", model=blank)
    assert jobs.list_jobs(ws) == []  # nothing was queued
    assert jobs.submit_job(ws, stage="embed", debate_id="t", model=None).model is None  # None: the default


def test_annotations_record_author_and_output(tmp_path):
    state = tmp_path / "state.duckdb"
    add_annotation(
        state,
        Annotation("d", "cluster", "3", "dropped minority", note="n", author=" Ana ", run_id="r1", output_id="o7"),
    )
    row = list_annotations(state, debate_id="d").iloc[0]
    assert (row["author"], row["output_id"], row["run_id"]) == ("Ana", "o7", "r1")
    with pytest.raises(ValueError, match="author"):
        add_annotation(state, Annotation("d", "cluster", "3", "other", author="x" * 201))


def test_a_state_file_from_before_output_id_still_opens(tmp_path):
    state = tmp_path / "state.duckdb"
    con = duckdb.connect(str(state))
    con.execute(
        "CREATE TABLE annotations (annotation_id VARCHAR PRIMARY KEY, debate_id VARCHAR NOT NULL, "
        "target_type VARCHAR NOT NULL, target_id VARCHAR NOT NULL, label VARCHAR NOT NULL, note VARCHAR, "
        "author VARCHAR, run_id VARCHAR, created_at TIMESTAMP NOT NULL)"
    )
    con.execute("INSERT INTO annotations VALUES ('a_old', 'd', 'unit', '1', 'other', 'old', '', NULL, now())")
    con.close()
    add_annotation(state, Annotation("d", "output", "o1", "other", author="B", output_id="o1"))
    table = list_annotations(state, debate_id="d").set_index("annotation_id")
    assert pd.isna(table.loc["a_old", "output_id"]) and table.loc["a_old", "note"] == "old"
    assert len(table) == 2 and set(table["output_id"].dropna()) == {"o1"}


def test_fidelity_finding_names_the_weakest_language_pair():
    rows = [
        ("similarity", "all", "all", 95, 0.68, 0.61, 0.75),
        ("flagged", "all", "all", 95, 0.45, 0.36, 0.55),
        ("similarity", "language_pair", "en->en", 70, 0.81, 0.74, 0.86),
        ("similarity", "language_pair", "en->fr", 25, 0.32, 0.20, 0.45),
    ]
    aggregates = pd.DataFrame(rows, columns=["metric", "dimension", "value", "n", "mean", "low", "high"])
    aggregates["suppressed"] = False
    assert fidelity_finding(aggregates, n_pairs=95) == (
        "Across 95 rewrites and translations, the mean similarity to what the author wrote is 0.68 "
        "(95% interval 0.61–0.75); 45% carry a word-level flag (95% interval 36–55%). The en->fr outputs (n = 25) "
        "no longer say what their authors said: similarity 0.32 (95% interval 0.20–0.45), against 0.81 for en->en."
    )
    assert fidelity_finding(aggregates.iloc[:0], n_pairs=0) == "This debate has no rewrite or translation to audit."


def test_compare_finding():
    table = pd.DataFrame(
        {
            "metric": ["survival", "uer_topics"],
            "a": [0.2, 0.1],
            "b": [0.6, 0.12],
            "moved_beyond_intervals": [True, None],
        }
    )
    text = compare_finding(table, label_a="output A (x)", label_b="Output B (y)", titles={"survival": "Topics kept"})
    assert (
        text
        == "Output B (y) differs from output A (x) beyond the 95% intervals on 1 of 2 metrics: Topics kept (0.20 → 0.60)."
    )
    table["moved_beyond_intervals"] = [False, None]
    assert "do not differ beyond their 95% intervals on any of the 2 metrics" in compare_finding(
        table, label_a="a", label_b="B", titles={}
    )


def test_annotation_and_unscored_findings():
    notes = pd.DataFrame({"label": ["other", "other", "good example"], "output_id": ["o1", None, "o2"]})
    assert annotations_finding(notes, output_id="o1") == (
        "3 notes on this debate, 1 about the selected output; the commonest label is 'other' (2)."
    )
    counts = {"contributions": 38, "languages": 2}
    assert unscored_finding("g9", counts, has_fidelity=True).startswith(
        "g9 holds 38 contributions in 2 languages and no scored"
    )
