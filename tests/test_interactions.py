"""Bot-citizen interaction logs: validation, exact rates and pulls on a hand-made log, storage as a run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dembias.embed import FakeEmbedder
from dembias.errors import IngestError
from dembias.interactions import (
    char_pull,
    embedding_pull,
    ingest_interactions,
    interaction_report,
    levenshtein,
    read_interactions,
    score_interactions,
)
from dembias.store import Workspace, list_runs, read_run_table
from tests.helpers import write

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "examples" / "interaction_log.jsonl"

LOG = [
    {"contribution_id": "1", "author": "a1", "language": "en", "country": "US", "outcome": "accepted",
     "draft": "bike lanes now", "suggestion": "We should build bike lanes now.", "final": "We should build bike lanes now.",
     "labels": {"cluster": "0"}},
    {"contribution_id": "2", "author": "a2", "language": "en", "country": "US", "outcome": "edited",
     "draft": "lower taxes", "suggestion": "lower taxes!!!", "final": "lower taxes!", "labels": {"cluster": "0"}},
    {"contribution_id": "3", "author": "a3", "language": "en", "country": "GB", "outcome": "rejected",
     "draft": "no more cars downtown", "suggestion": "More cars downtown.", "cluster": "1"},
    {"contribution_id": "4", "author": "a4", "language": "fr", "country": "FR", "outcome": "accepted",
     "draft": "plus de bus", "suggestion": "Il faut plus de bus.", "final": "Il faut plus de bus."},
    {"contribution_id": "5", "author": "a5", "language": "fr", "country": "FR", "outcome": "rejected",
     "draft": "des arbres", "suggestion": "Plantons des arbres.", "final": "des arbres"},
    {"contribution_id": "6", "author": "a6", "language": "fr", "country": "BE", "outcome": "edited",
     "draft": "non", "suggestion": "non merci", "final": "non merci beaucoup"},
]  # fmt: skip


def _log(tmp_path: Path, rows=LOG) -> Path:
    return write(tmp_path / "log.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")


def test_levenshtein_and_pulls():
    assert levenshtein("kitten", "sitting") == 3 and levenshtein("", "abc") == 3 and levenshtein("same", "same") == 0
    assert char_pull("cat", "cats!!", "cats!!") == 1.0
    assert char_pull("cat", "cats!!", "cat") == 0.0
    assert char_pull("cat", "cats!!", "cats") == pytest.approx(1 / 3)
    assert char_pull("non", "non merci", "non merci beaucoup") == pytest.approx(-0.5)
    assert np.isnan(char_pull("same", "same", "other"))
    assert (
        embedding_pull(0.5, 1.0) == 1.0
        and embedding_pull(0.5, 0.5) == 0.0
        and embedding_pull(0.6, 0.8) == pytest.approx(0.5)
    )
    assert np.isnan(embedding_pull(1.0, 1.0))


def test_report_has_exact_rates_and_pulls(tmp_path):
    scored = score_interactions(read_interactions(_log(tmp_path)))
    assert scored["pull_chars"].tolist() == pytest.approx([1.0, 1 / 3, 0.0, 1.0, 0.0, -0.5])
    assert scored.loc[2, "final"] == "no more cars downtown"  # a rejection without final keeps the draft
    assert scored.loc[2, "flag_kinds"] == ["negation_removed"]
    assert scored["cluster"].tolist()[:3] == ["0", "0", "1"]
    report = interaction_report(scored, k=2).set_index(["dimension", "value"])
    everyone = report.loc[("all", "all")]
    assert (everyone.n, everyone.n_contributors) == (6, 6)
    assert everyone.acceptance_rate == pytest.approx(2 / 6)
    assert everyone.edit_rate == pytest.approx(2 / 6)
    assert everyone.rejection_rate == pytest.approx(2 / 6)
    assert everyone.pull_chars == pytest.approx((1 + 1 / 3 + 0 + 1 + 0 - 0.5) / 6)
    assert everyone.suggestion_negation_rate == pytest.approx(1 / 6)
    assert report.loc[("language", "en")].pull_chars == pytest.approx(4 / 9)
    assert report.loc[("language", "fr")].pull_chars == pytest.approx(1 / 6)
    us = report.loc[("country", "US")]
    assert (us.acceptance_rate, us.edit_rate, us.rejection_rate) == (0.5, 0.5, 0.0)
    gb = report.loc[("country", "GB")]
    assert bool(gb.suppressed) and np.isnan(gb.acceptance_rate) and gb.n == 1
    assert report.loc[("cluster", "0")].acceptance_rate == 0.5
    # the default k=5 suppresses every slice but the whole log's six contributors
    default = interaction_report(scored)
    assert default.loc[~default.suppressed, "dimension"].tolist() == ["all"]


def test_embedding_pull_is_one_when_accepted_and_zero_when_rejected(tmp_path):
    scored = score_interactions(read_interactions(_log(tmp_path)), embedder=FakeEmbedder(dim=16, noise=0.5))
    assert scored.loc[scored.outcome == "accepted", "pull_embedding"].tolist() == pytest.approx([1.0, 1.0])
    assert scored.loc[scored.outcome == "rejected", "pull_embedding"].tolist() == pytest.approx([0.0, 0.0])
    assert scored["suggestion_similarity"].between(-1, 1).all()


def test_ingest_stores_a_run_with_pseudonymised_authors(tmp_path):
    ws = Workspace.resolve(tmp_path / "ws")
    info, report = ingest_interactions(ws, _log(tmp_path), k=2)
    assert info.stage == "interactions" and [r.run_id for r in list_runs(ws, stage="interactions")] == [info.run_id]
    stored = read_run_table(ws, info.run_id, "interactions")
    assert len(stored) == 6 and not set(stored["author_pid"]) & {"a1", "a2", "a3", "a4", "a5", "a6"}
    assert stored["author_pid"].str.startswith("p_").all()
    assert len(read_run_table(ws, info.run_id, "report")) == len(report)
    assert not ws.corpus_path.exists()  # the corpus is untouched (here: never created)


@pytest.mark.parametrize(
    ("change", "row", "field", "problem"),
    [
        ({"outcome": "maybe"}, 2, "outcome", "unknown outcome"),
        ({"draft": ""}, 2, "draft", "missing or empty"),
        ({"final": None, "outcome": "edited"}, 2, "final", "missing or empty"),
        ({"labels": ["x"]}, 2, "labels", "must be a JSON object"),
        ({"task": "summary"}, 2, "task", "unknown task"),
        ({"language": None}, 2, "language", "missing or empty"),
    ],
)
def test_bad_lines_name_file_row_and_field(tmp_path, change, row, field, problem):
    rows = [dict(LOG[0]), {**LOG[1], **change}]
    with pytest.raises(IngestError) as info:
        read_interactions(_log(tmp_path, rows))
    assert (info.value.row, info.value.field) == (row, field)
    assert problem in str(info.value) and "log.jsonl" in str(info.value)


def test_bad_json_and_duplicates(tmp_path):
    path = write(tmp_path / "bad.jsonl", json.dumps(LOG[0]) + "\n{oops\n")
    with pytest.raises(IngestError, match=r"row 2.*not valid JSON"):
        read_interactions(path)
    dup = [{**LOG[0], "interaction_id": "x"}, {**LOG[1], "interaction_id": "x"}]
    with pytest.raises(IngestError, match="duplicate interaction id"):
        read_interactions(_log(tmp_path, dup))


def test_documented_example_log_reads():
    records = read_interactions(EXAMPLE)
    assert len(records) >= 10
    assert {r.outcome for r in records} == {"accepted", "edited", "rejected"}
    assert {r.language for r in records} >= {"en", "fr", "de"}
