"""Runs that know their inputs: a fingerprint of the debate's rows, and runs marked stale when it changes."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from dembias.cli import app
from dembias.info import workspace_info
from dembias.ingest import ingest_contributions
from dembias.mapping import MapParams, map_debate
from dembias.store import (
    is_stale,
    latest_run,
    list_runs,
    refresh_hint,
    run_staleness,
    workspace_fingerprint,
    write_run,
)
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
    summary = map_debate(ws, "town", embedder=fake_embedder, params=MapParams(n_seeds=2))
    run = latest_run(ws, stage="mapping", debate_id="town")
    assert run.manifest["input_fingerprint"] == workspace_fingerprint(ws, "town")
    # a downstream run without its own fingerprint inherits the verdict of the run it was built on
    child = write_run(ws, stage="pluralism", debate_id="town", tables={}, inputs=[summary.run_id])
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
    map_debate(ws, "town", embedder=fake_embedder, params=MapParams(n_seeds=2))
    result = CliRunner().invoke(app, ["redact", "-w", str(ws.root)])
    assert result.exit_code == 0, result.output
    assert "refresh: dembias map --debate town" in result.stderr
    assert is_stale(ws, latest_run(ws, stage="mapping", debate_id="town")) is True


def test_the_dashboard_names_stale_runs(tmp_path, fake_embedder):
    from pages.shared import stale_notes

    ws = small_debate(tmp_path)
    run = map_debate(ws, "town", embedder=fake_embedder, params=MapParams(n_seeds=2)).run_id
    assert stale_notes(str(ws.root), (0.0, 1), (run,)) == []
    _replace_one_text(tmp_path, ws, "bus::en changed again")
    notes = stale_notes(str(ws.root), (1.0, 1), (run,))
    assert len(notes) == 1 and run in notes[0] and "dembias map --debate town" in notes[0]


def test_every_page_warns_about_a_stale_map(tmp_path, fake_embedder, monkeypatch):
    """The overview (app.py) through AppTest: the sidebar's stale-run warning shows on the page."""
    from tests.test_app import app_at

    ws = small_debate(tmp_path)
    run = map_debate(ws, "town", embedder=fake_embedder, params=MapParams(n_seeds=2)).run_id
    fresh = app_at(monkeypatch, ws, debate="town")
    assert not any("refresh it with" in w.value for w in fresh.warning)
    _replace_one_text(tmp_path, ws, "bus::en yet another text")
    stale = app_at(monkeypatch, ws, debate="town")
    notes = [w.value for w in stale.warning if "refresh it with" in w.value]
    assert len(notes) == 1 and run in notes[0] and "dembias map --debate town" in notes[0]
