"""Same input, same answer: two fresh workspaces (each with its own pseudonym key) map alike."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from dembias import opinion_map
from dembias.ingest.pseudonym import pseudonymise
from dembias.models.bundle import StageModels
from dembias.opinion_map.diagnostics import MIN_PARTICIPANTS_FOR_GROUPS, small_debate_warnings
from dembias.opinion_map.params import MapParams
from dembias.workspace.runs import list_runs, open_run, read_run_table
from tests.test_mapping import small_debate

RUN_TABLES = (
    "assignments",
    "clusters",
    "cluster_persistence",
    "diagnostics",
    "vote_groups",
    "comment_group_votes",
    "consensus",
    "cluster_vote_profile",
)


def _map_fresh(root, key: str, monkeypatch, fake_embedder):
    monkeypatch.setenv("DEMBIAS_PSEUDONYM_KEY", key)
    ws = small_debate(root)
    summary = opinion_map.run(
        ws, debate_id="town", params=MapParams(n_seeds=3), models=StageModels(embedder=fake_embedder)
    ).details
    return ws, summary


def _tables(ws, run_id: str, key: str) -> dict[str, pd.DataFrame]:
    con = open_run(ws, run_id)
    try:
        names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()
    assert set(RUN_TABLES) <= names
    raw_of = {pseudonymise(key.encode(), "town", f"v{p}"): f"v{p}" for p in range(40)}
    tables = {}
    for name in RUN_TABLES:
        frame = read_run_table(ws, run_id, name)
        if "participant_pid" in frame.columns:  # pseudonyms differ between workspaces: compare raw voters
            frame = frame.assign(participant_pid=frame["participant_pid"].map(raw_of))
            frame = frame.sort_values("participant_pid").reset_index(drop=True)
        tables[name] = frame
    return tables


def test_mapping_twice_into_fresh_workspaces_gives_identical_tables(tmp_path, monkeypatch, fake_embedder):
    ws_a, first = _map_fresh(tmp_path / "a", "key-one", monkeypatch, fake_embedder)
    ws_b, second = _map_fresh(tmp_path / "b", "another-key", monkeypatch, fake_embedder)
    a, b = _tables(ws_a, first.run_id, "key-one"), _tables(ws_b, second.run_id, "another-key")
    for name in RUN_TABLES:
        pd.testing.assert_frame_equal(a[name], b[name], check_exact=True, obj=name)
    assert a["vote_groups"]["participant_pid"].notna().all()
    manifest_a = list_runs(ws_a, stage="mapping")[0].manifest
    manifest_b = list_runs(ws_b, stage="mapping")[0].manifest
    assert manifest_a["params"]["seeds"] == [0, 1, 2]
    votes_params = manifest_a["params"]["votes"]
    assert votes_params["engine_requested"] == "auto" and votes_params["engine"] in ("reddwarf", "dembias")
    assert votes_params["seed"] == 0 and manifest_b["params"]["votes"] == votes_params
    # the fingerprint reads ids, texts and vote counts, never pseudonyms: equal across workspaces
    assert manifest_a["input_fingerprint"] == manifest_b["input_fingerprint"]
    assert manifest_a["warnings"] == list(first.warnings) and first.warnings == second.warnings


def _score_fresh(ws, tmp, fake_embedder):
    from dembias import pluralism
    from dembias.ingest import ingest_outputs
    from dembias.models.bundle import StageModels
    from tests.helpers import write

    record = {
        "debate_id": "town",
        "task": "summary",
        "model": "m",
        "text": "People want better buses [c0]. Rents are too high [c60]. Trees matter to some [c100].",
        "inline_citations": True,
    }
    ingest_outputs(ws, write(tmp / "outputs.jsonl", json.dumps(record) + "\n"))
    run = pluralism.run(
        ws,
        debate_id="town",
        params=pluralism.PluralismParams(n_resamples=200, seed=0),
        models=StageModels(embedder=fake_embedder),
    )
    con = open_run(ws, run.run_id)
    try:
        names = sorted(r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall())
    finally:
        con.close()
    return {name: read_run_table(ws, run.run_id, name) for name in names if name != "manifest"}


def test_scoring_twice_into_fresh_workspaces_gives_identical_tables(tmp_path, monkeypatch, fake_embedder):
    scored = []
    for name, key in (("a", "key-one"), ("b", "another-key")):
        ws, _summary = _map_fresh(tmp_path / name, key, monkeypatch, fake_embedder)
        scored.append(_score_fresh(ws, tmp_path / name, fake_embedder))
    assert scored[0] and set(scored[0]) == set(scored[1])
    for name, frame in scored[0].items():
        frame_b = scored[1][name]
        for column in frame.columns:  # run ids differ between workspaces; everything else must not
            if frame[column].astype(str).str.contains("mapping-|pluralism-", regex=True).any():
                frame, frame_b = frame.drop(columns=column), frame_b.drop(columns=column)
        pd.testing.assert_frame_equal(frame, frame_b, check_exact=True, obj=name)


def test_first_seed_changes_the_clustering_seeds(tmp_path, fake_embedder):
    ws = small_debate(tmp_path)
    run = opinion_map.run(
        ws, debate_id="town", params=MapParams(n_seeds=2, first_seed=7), models=StageModels(embedder=fake_embedder)
    ).details
    manifest = list_runs(ws, stage="mapping")[0].manifest
    assert manifest["params"]["seeds"] == [7, 8] and manifest["params"]["votes"]["seed"] == 7
    assert run.run_id == manifest["run_id"]


def test_small_debates_are_warned_about():
    rule = small_debate_warnings("d", {"n_contributions": 31, "stability_ari": 0.18, "n_seeds": 5, "noise_share": 0.52})
    assert len(rule) == 3 and "31 contributions" in rule[0] and "ARI 0.18" in rule[1] and "52%" in rule[2]
    assert small_debate_warnings("d", {"n_contributions": 500, "stability_ari": 0.9, "n_seeds": 5}) == []
    groups = small_debate_warnings(
        "d", {"n_contributions": 500, "stability_ari": 0.9, "n_seeds": 5, "vote_groups_participants": 40}
    )
    assert len(groups) == 1 and f"fewer than {MIN_PARTICIPANTS_FOR_GROUPS}" in groups[0]
    assert "too few participants" in small_debate_warnings("d", {"n_contributions": 500}, has_votes=True)[0]


def test_warnings_reach_the_summary_and_the_cli_record(tmp_path, fake_embedder):
    ws = small_debate(tmp_path)
    summary = opinion_map.run(
        ws, debate_id="town", params=MapParams(n_seeds=2), models=StageModels(embedder=fake_embedder)
    ).details
    assert any("vote groups from 40 participants" in w for w in summary.warnings)
    assert summary.to_dict()["warnings"] == list(summary.warnings)
    assert np.isfinite(summary.diagnostics["vote_groups_k"])
