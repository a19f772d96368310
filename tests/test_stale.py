"""Runs that know their inputs: a fingerprint of the debate's rows, and runs marked stale when it changes."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from dembias import opinion_map
from dembias.cli import app
from dembias.ingest import ingest_contributions
from dembias.models.bundle import StageModels
from dembias.opinion_map.params import MapParams
from dembias.read.info import workspace_info
from dembias.workspace.runs import RunRecord, latest_run, list_runs, write_run
from dembias.workspace.staleness import is_stale, refresh_hint, run_staleness, workspace_fingerprint
from tests.test_mapping import small_debate


def _replace_one_text(root, ws, text: str) -> None:
    frame = pd.read_csv(root / "contributions.csv")
    frame.loc[0, "text"] = text
    frame.to_csv(root / "contributions.csv", index=False)
    ingest_contributions(ws, root / "contributions.csv", debate_id="town", votes_path=root / "votes.csv", replace=True)


def test_fingerprint_follows_texts_moderation_and_votes_only(tmp_path):
    ws = small_debate(tmp_path)
    before = workspace_fingerprint(ws, "town")
    assert before and before.startswith("v1:")
    # the same rows again (a --replace of the same file): the same fingerprint
    ingest_contributions(
        ws, tmp_path / "contributions.csv", debate_id="town", votes_path=tmp_path / "votes.csv", replace=True
    )
    assert workspace_fingerprint(ws, "town") == before
    _replace_one_text(tmp_path, ws, "bus::en changed")
    assert workspace_fingerprint(ws, "town") not in (before, None)
    assert workspace_fingerprint(ws, "nope") is None


def test_runs_become_stale_when_their_debate_changes(tmp_path, fake_embedder):
    ws = small_debate(tmp_path)
    summary = opinion_map.run(
        ws, debate_id="town", params=MapParams(n_seeds=2), models=StageModels(embedder=fake_embedder)
    ).details
    run = latest_run(ws, stage="mapping", debate_id="town")
    assert run.manifest["input_fingerprint"] == workspace_fingerprint(ws, "town")
    # a downstream run without its own fingerprint inherits the verdict of the run it was built on
    child = write_run(ws, stage="pluralism", debate_id="town", tables={}, record=RunRecord(inputs=[summary.run_id]))
    unknown = write_run(ws, stage="pluralism", debate_id="town", tables={})
    assert is_stale(ws, run) is False
    assert run_staleness(ws)[child.run_id] is None and is_stale(ws, unknown) is None

    _replace_one_text(tmp_path, ws, "bus::en a different text")
    assert is_stale(ws, run) is True
    verdicts = run_staleness(ws)
    assert verdicts[child.run_id] is True and verdicts[unknown.run_id] is None
    assert refresh_hint(run) == "dembias map --debate town"

    info = {r["run_id"]: r for r in workspace_info(ws)["runs"]}
    assert info[run.run_id]["stale"] is True and info[run.run_id]["refresh"] == "dembias map --debate town"
    assert info[unknown.run_id]["stale"] is None and "refresh" not in info[unknown.run_id]
    text = CliRunner().invoke(app, ["info", "-w", str(ws.root)])
    assert text.exit_code == 0 and f"{run.run_id}  mapping    town  STALE" in text.stdout

    # mapping again says which runs are left stale and how to refresh them; the new run is fresh
    result = CliRunner().invoke(app, ["map", "-w", str(ws.root), "--embedder", "fake", "--seeds", "2", "--json"])
    assert result.exit_code == 0, result.output
    fresh = json.loads(result.stdout)[0]["run_id"]
    assert f"{run.run_id} (mapping); refresh: dembias map --debate town" in result.stderr
    assert fresh not in result.stderr.split("describe the debate")[-1]
    assert is_stale(ws, next(r for r in list_runs(ws) if r.run_id == fresh)) is False


def test_redact_marks_the_runs_it_outdates(tmp_path, fake_embedder):
    ws = small_debate(tmp_path)
    _replace_one_text(tmp_path, ws, "bus::en call me at jane.doe@example.org")
    opinion_map.run(ws, debate_id="town", params=MapParams(n_seeds=2), models=StageModels(embedder=fake_embedder))
    result = CliRunner().invoke(app, ["redact", "-w", str(ws.root)])
    assert result.exit_code == 0, result.output
    assert "refresh: dembias map --debate town" in result.stderr
    assert is_stale(ws, latest_run(ws, stage="mapping", debate_id="town")) is True


def test_the_dashboard_names_stale_runs(tmp_path, fake_embedder):
    from pages.ui.cache import stale_notes

    ws = small_debate(tmp_path)
    run = opinion_map.run(
        ws, debate_id="town", params=MapParams(n_seeds=2), models=StageModels(embedder=fake_embedder)
    ).run_id
    assert stale_notes(str(ws.root), (0.0, 1), (run,)) == []
    _replace_one_text(tmp_path, ws, "bus::en changed again")
    notes = stale_notes(str(ws.root), (1.0, 1), (run,))
    assert len(notes) == 1 and run in notes[0] and "dembias map --debate town" in notes[0]


def test_every_page_warns_about_a_stale_map(tmp_path, fake_embedder, monkeypatch):
    """The overview (app.py) through AppTest: the sidebar's stale-run warning shows on the page."""
    from tests.test_app import app_at

    ws = small_debate(tmp_path)
    run = opinion_map.run(
        ws, debate_id="town", params=MapParams(n_seeds=2), models=StageModels(embedder=fake_embedder)
    ).run_id
    fresh = app_at(monkeypatch, ws, debate="town")
    assert not any("refresh it with" in w.value for w in fresh.warning)
    _replace_one_text(tmp_path, ws, "bus::en yet another text")
    stale = app_at(monkeypatch, ws, debate="town")
    notes = [w.value for w in stale.warning if "refresh it with" in w.value]
    assert len(notes) == 1 and run in notes[0] and "dembias map --debate town" in notes[0]


def test_redact_changes_the_corpus_fingerprint_and_the_run_parameters_show_it(tmp_path, fake_embedder):
    from dembias.ingest.redact import redact_corpus
    from dembias.read.run_parameters import run_parameter_records

    ws = small_debate(tmp_path)
    _replace_one_text(tmp_path, ws, "bus::en call me at jane.doe@example.org")
    before = workspace_fingerprint(ws, "town")
    run = opinion_map.run(
        ws,
        debate_id="town",
        params=MapParams(n_seeds=1, min_cluster_size=8),
        models=StageModels(embedder=fake_embedder),
    ).run_id
    (record,) = run_parameter_records(ws, (run,)).values()
    values = dict(zip(record["parameter"], record["value"], strict=True))
    assert values["corpus version"] == before and values["debate since then"] == "unchanged"
    assert values["hdbscan.min_cluster_size_given"] == "8" and values["seeds"] == "[0]"

    redact_corpus(ws)
    after = workspace_fingerprint(ws, "town")
    assert after not in (before, None)  # the redacted text changed the corpus version
    (record,) = run_parameter_records(ws, (run,)).values()
    values = dict(zip(record["parameter"], record["value"], strict=True))
    assert values["corpus version"] == before and values["debate since then"] == "changed since (stale)"


def test_run_parameters_is_an_exact_flat_record(tmp_path):
    from dembias.read.run_parameters import run_parameters
    from dembias.workspace.folder import Workspace

    ws = Workspace(tmp_path / "ws")
    info = write_run(
        ws,
        stage="pluralism",
        debate_id="town",
        tables={},
        record=RunRecord(
            params={"budget": 20, "umap": {"n_neighbors": 15, "metric": "cosine"}, "seeds": [0, 1]},
            inputs=["mapping-1"],
            fingerprint="v1:abc",
            extra={"job_id": "job-1", "rescores": None, "job": {"model": "m", "device": "cuda:0"}},
        ),
    )
    table = run_parameters(info, stale=False)
    assert table.drop(index=[0, 3]).values.tolist() == [
        ["run", "stage", "pluralism"],
        ["run", "debate", "town"],
        ["parameters", "budget", "20"],
        ["parameters", "seeds", "[0, 1]"],
        ["parameters", "umap.metric", "cosine"],
        ["parameters", "umap.n_neighbors", "15"],
        ["inputs", "input runs", "mapping-1"],
        ["job", "job id", "job-1"],
        ["job", "rescores", "not set"],
        ["job", "device", "cuda:0"],
        ["job", "model", "m"],
        ["corpus", "corpus version", "v1:abc"],
        ["corpus", "debate since then", "unchanged"],
    ]
    assert table.loc[0].tolist() == ["run", "run id", info.run_id]
