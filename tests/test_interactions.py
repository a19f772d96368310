"""Bot-citizen interaction logs: validation, exact rates and pulls on a hand-made log, storage as a run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dembias.errors import IngestError
from dembias.fidelity.interaction_log import read_interactions
from dembias.fidelity.interaction_runs import ingest_interactions
from dembias.fidelity.interaction_scores import char_pull, embedding_pull, levenshtein, score_interactions
from dembias.fidelity.interaction_slices import interaction_report
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import list_runs, read_run_table
from dembias.workspace.staleness import workspace_fingerprint
from tests.fakes import FakeEmbedder
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
    report = interaction_report(scored, min_cell=2).set_index(["dimension", "value"])
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
    info, report = ingest_interactions(ws, _log(tmp_path), min_cell=2)
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


# ---- dembias score interactions: intervals, pull by group, flagged suggestions, topic and vote group ----


def _wilson(successes: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """The Wilson score interval written out (independent of scipy)."""
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_wilson_interval_matches_the_formula():
    from dembias.fidelity.interaction_slices import wilson_interval

    assert wilson_interval(2, 6) == pytest.approx(_wilson(2, 6))
    assert wilson_interval(0, 4) == pytest.approx((0.0, _wilson(0, 4)[1]))
    assert all(np.isnan(wilson_interval(0, 0)))


def test_rate_table_has_exact_rates_intervals_and_suppression(tmp_path):
    from dembias.fidelity.interaction_slices import rate_table

    scored = score_interactions(read_interactions(_log(tmp_path)))
    rates = rate_table(scored, dimensions=("language", "country"), min_cell=2).set_index(["dimension", "value"])
    everyone = rates.loc[("all", "all")]
    assert (everyone.n, everyone.acceptance_rate) == (6, pytest.approx(2 / 6))
    assert (everyone.acceptance_low, everyone.acceptance_high) == pytest.approx(_wilson(2, 6))
    en = rates.loc[("language", "en")]
    assert (en.acceptance_rate, en.edit_rate, en.rejection_rate) == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert (en.rejection_low, en.rejection_high) == pytest.approx(_wilson(1, 3))
    us = rates.loc[("country", "US")]
    assert (us.acceptance_low, us.acceptance_high) == pytest.approx(_wilson(1, 2))
    be = rates.loc[("country", "BE")]  # one contributor under k=2: counted, not shown
    assert bool(be.suppressed) and be.n == 1 and np.isnan(be.acceptance_rate) and np.isnan(be.acceptance_low)


def test_pull_table_means_differences_and_seeded_intervals(tmp_path):
    from dembias.fidelity.interaction_slices import pull_table

    scored = score_interactions(read_interactions(_log(tmp_path)))
    pull = pull_table(scored, dimensions=("language",), min_cell=2, seed=3, n_resamples=500, n_permutations=500)
    again = pull_table(scored, dimensions=("language",), min_cell=2, seed=3, n_resamples=500, n_permutations=500)
    pd.testing.assert_frame_equal(pull, again)
    pull = pull.set_index(["dimension", "value"])
    assert pull.loc[("all", "all")]["mean"] == pytest.approx((1 + 1 / 3 + 0 + 1 + 0 - 0.5) / 6)
    en, fr = pull.loc[("language", "en")], pull.loc[("language", "fr")]
    assert en["mean"] == pytest.approx(4 / 9) and fr["mean"] == pytest.approx(1 / 6)
    assert en.difference == pytest.approx(4 / 9 - 1 / 6) and fr.difference == pytest.approx(1 / 6 - 4 / 9)
    assert en.low <= en["mean"] <= en.high and en.difference_low <= en.difference <= en.difference_high
    assert 0 < en.p_value <= 1 and np.isnan(pull.loc[("all", "all")].difference)
    constant = scored.assign(pull_chars=1.0)  # no spread: the interval is the point
    row = pull_table(constant, dimensions=(), min_cell=2).iloc[0]
    assert (row["mean"], row.low, row.high) == (1.0, 1.0, 1.0)


def test_flagged_suggestions_say_whether_the_citizen_undid_them(tmp_path):
    from dembias.fidelity.interaction_slices import flagged_table, rate_table

    rows = [
        *LOG,
        {"contribution_id": "7", "author": "a7", "language": "en", "country": "GB", "outcome": "edited",
         "draft": "no more cars downtown", "suggestion": "More cars downtown.", "final": "More cars downtown please."},
    ]  # fmt: skip
    scored = score_interactions(read_interactions(_log(tmp_path, rows)))
    rates = rate_table(scored, dimensions=("language", "country"), min_cell=2)
    flagged = flagged_table(scored, rates).set_index("contribution_id")
    assert sorted(flagged.index) == ["1", "3", "6", "7"]  # 1 and 6 change the length: the audit's length flag
    assert flagged.loc["1", "flag_kinds"] == ["length_ratio"] and not flagged.loc["1", "undone"]  # accepted
    assert flagged.loc["3", "flag_kinds"] == ["negation_removed"] and flagged.loc["3", "final_flag_kinds"] == []
    assert bool(flagged.loc["3", "undone"])  # rejected: the final text is the draft
    assert flagged.loc["7", "final_flag_kinds"] == ["negation_removed"] and not flagged.loc["7", "undone"]
    assert flagged.loc["7", "final"] == "More cars downtown please." and not flagged.loc["7", "withheld"]
    assert flagged.loc["6", "withheld"] and pd.isna(flagged.loc["6", "draft"])  # BE: one contributor under k=2
    strict = flagged_table(scored, rate_table(scored, dimensions=("language", "country"), min_cell=3))
    assert strict["withheld"].all() and strict["draft"].isna().all()  # GB has 2 contributors < 3


def test_score_interaction_log_places_interactions_on_the_map(tmp_path):
    from dembias.fidelity.interaction_runs import score_interaction_log
    from dembias.ingest import ingest_contributions
    from dembias.workspace.runs import write_run

    ws = Workspace(tmp_path / "ws")
    ingest_contributions(
        ws,
        write(tmp_path / "c.csv", "id,text,author\n1,a,p1\n2,b,p2\n3,c,p3\n9,z,p9\n"),
        debate_id="town",
        language="en",
    )
    with __import__("dembias.workspace.corpus", fromlist=["corpus_reader"]).corpus_reader(ws, {}) as con:
        pid = dict(con.execute("SELECT contribution_id, author_pid FROM contributions").fetchall())
    write_run(
        ws,
        stage="mapping",
        debate_id="town",
        tables={
            "assignments": pd.DataFrame({"contribution_id": ["1", "2", "3", "9"], "cluster": [0, 0, 1, 1]}),
            "vote_groups": pd.DataFrame({"participant_pid": [pid["1"], pid["3"]], "vote_group": [1, 0]}),
        },
    )
    rows = [dict(r, debate_id="town") for r in LOG]
    info, tables = score_interaction_log(ws, debate_id="town", log=_log(tmp_path, rows), min_cell=1, n_resamples=200)
    scored = tables["interactions"].set_index("contribution_id")
    assert scored["topic"].tolist() == ["0", "0", "1", None, None, None]  # 4-6 are not in the debate
    assert scored["vote_group"].tolist() == ["1", None, "0", None, None, None]
    rates = tables["rates"].set_index(["dimension", "value"])
    assert rates.loc[("topic", "0")].acceptance_rate == 0.5 and rates.loc[("vote_group", "0")].rejection_rate == 1.0
    stored = list_runs(ws, stage="interactions")
    assert [r.run_id for r in stored] == [info.run_id] and info.debate_id == "town"
    assert info.manifest["input_fingerprint"] == workspace_fingerprint(ws, "town")  # the corpus version it read
    assert set(tables) == {"interactions", "report", "rates", "pull", "flagged"}
    assert read_run_table(ws, info.run_id, "flagged")["contribution_id"].tolist() == ["1", "3", "6"]
    # without --log, the latest ingested log is scored
    ingest_interactions(ws, _log(tmp_path, rows), min_cell=1)
    _, tables2 = score_interaction_log(ws, debate_id="town", min_cell=1, n_resamples=200)
    assert tables2["rates"]["acceptance_rate"].tolist()[0] == pytest.approx(2 / 6)


def test_score_interactions_cli_prints_the_json_view(tmp_path):
    from typer.testing import CliRunner

    from dembias.cli import app

    result = CliRunner().invoke(
        app, ["score", "interactions", "-w", str(tmp_path / "ws"), "--log", str(_log(tmp_path)), "-k", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert view["rates"][0]["acceptance_rate"] == pytest.approx(2 / 6) and view["params"]["min_cell"] == 2
    assert {r["contribution_id"] for r in view["flagged"]} == {"1", "3", "6"}
    assert list_runs(Workspace(tmp_path / "ws"), stage="interactions")[0].run_id == view["run_id"]


def test_the_demo_log_is_marked_simulated_and_follows_its_stated_rule():
    import importlib.util

    root = Path(__file__).resolve().parent.parent
    spec = importlib.util.spec_from_file_location("simulate", root / "benchmarks" / "simulate_interactions.py")
    simulate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(simulate)
    path = root / "data" / "outputs" / "interactions-simulated-v1.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 85 and all(r["simulated"] is True for r in rows)
    assert {r["language"] for r in rows} == {"en", "fr", "de"}
    for index, r in enumerate(rows):  # every outcome is the documented rule's, with the seed of its row
        outcome, final, _ = simulate.simulate(
            r["draft"], r["suggestion"], r["language"], np.random.default_rng([0, index])
        )
        assert (outcome, final) == (r["outcome"], r["final"]), r["interaction_id"]
    records = read_interactions(path)
    assert all(r.labels["simulated"] is True for r in records)
    rates = __import__("dembias.fidelity.interaction_slices", fromlist=["rate_table"]).rate_table(
        score_interactions(records)
    )
    everyone = rates.iloc[0]
    assert (everyone.n, everyone.acceptance_rate) == (85, pytest.approx(41 / 85))
