"""Opinion mapping: cluster recovery on planted structure, the mapping run, the cache, the CLI."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from typer.testing import CliRunner

from dembias import opinion_map
from dembias.cli import app
from dembias.ingest import ingest_contributions
from dembias.models.bundle import StageModels
from dembias.opinion_map.clustering import compute_map, scaled_min_cluster_size
from dembias.opinion_map.params import MapParams
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import list_runs, read_run_table
from tests.fakes import FakeEmbedder

SIZES = {"transit": 400, "housing": 300, "parks": 200, "taxes": 70, "noise-rules": 30}  # last one holds 3%


def planted(embedder: FakeEmbedder) -> tuple[np.ndarray, np.ndarray]:
    texts, truth = [], []
    for topic_index, (topic, size) in enumerate(SIZES.items()):
        texts += [f"{topic}::contribution {i}" for i in range(size)]
        truth += [topic_index] * size
    return embedder.embed(texts), np.array(truth)


def test_planted_clusters_are_recovered_including_a_3_percent_one(fake_embedder):
    embeddings, truth = planted(fake_embedder)
    result = compute_map(embeddings, params=MapParams(n_seeds=2))
    assert adjusted_rand_score(truth, result.clusters) >= 0.9
    small = truth == 4
    assert small.mean() == pytest.approx(0.03)
    best = max(
        np.count_nonzero(small & (result.clusters == c)) / np.count_nonzero(small | (result.clusters == c))
        for c in set(result.clusters.tolist()) - {-1}
    )
    assert best >= 0.8, "the 3% cluster was swallowed"
    assert result.xy.shape == (len(truth), 2)
    assert result.noise_share < 0.1
    assert all(0.0 <= p <= 1.0 for p in result.persistence.values())


def test_min_cluster_size_scales_with_debate_size():
    assert scaled_min_cluster_size(20) == 5
    assert scaled_min_cluster_size(10_000) == 50
    assert scaled_min_cluster_size(100) < scaled_min_cluster_size(1000) < scaled_min_cluster_size(100_000)


def small_debate(root, *, with_votes: bool = True) -> Workspace:
    """A 120-contribution debate in two languages with three topics, and votes from two planted camps."""
    rng = np.random.default_rng(3)
    rows, votes = [], []
    topics = {"bus": 50, "rent": 45, "trees": 25}
    n = 0
    for topic, size in topics.items():
        for i in range(size):
            lang = "de" if i % 3 == 0 else "en"
            rows.append({"id": f"c{n}", "text": f"{topic}::{lang} {i}", "language": lang})
            n += 1
    for p in range(40):
        camp = p % 2
        for c in range(n):
            if rng.random() < 0.6:
                likes = (c < 50) == (camp == 0)
                vote = 1 if rng.random() < (0.85 if likes else 0.15) else -1
                votes.append({"contribution_id": f"c{c}", "voter_id": f"v{p}", "vote": vote})
    root.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(root / "contributions.csv", index=False)
    pd.DataFrame(votes).to_csv(root / "votes.csv", index=False)
    ws = Workspace(root / "ws")
    ingest_contributions(
        ws, root / "contributions.csv", debate_id="town", votes_path=(root / "votes.csv") if with_votes else None
    )
    return ws


def test_the_map_stage_writes_every_table_and_reuses_embeddings(tmp_path, fake_embedder):
    ws = small_debate(tmp_path)
    first = opinion_map.run(
        ws, debate_id="town", params=MapParams(n_seeds=3), models=StageModels(embedder=fake_embedder)
    ).details
    assert first.n_new_embeddings == 120
    assignments = read_run_table(ws, first.run_id, "assignments")
    assert list(assignments.columns) == ["contribution_id", "x", "y", "cluster", "probability", "language"]
    assert len(assignments) == 120 and set(assignments["language"]) == {"de", "en"}
    truth = assignments["contribution_id"].str[1:].astype(int).map(lambda i: 0 if i < 50 else 1 if i < 95 else 2)
    assert adjusted_rand_score(truth, assignments["cluster"]) >= 0.9
    clusters = read_run_table(ws, first.run_id, "clusters")
    assert clusters["size"].sum() == 120 and clusters["share"].sum() == pytest.approx(1.0)
    top = clusters.sort_values("size", ascending=False).iloc[0]
    assert "bus" in top["keywords"] and 3 <= len(top["representative_ids"]) <= 5
    diagnostics = dict(read_run_table(ws, first.run_id, "diagnostics").itertuples(index=False))
    for metric in ("n_clusters", "noise_share", "stability_ari", "nmi_language", "cross_language_nn_share"):
        assert metric in diagnostics
    assert diagnostics["n_clusters"] == 3
    assert diagnostics["nmi_language"] < 0.1  # topics, not languages, make the clusters
    assert diagnostics["stability_ari"] >= 0.9
    assert diagnostics["cross_language_nn_share"] == pytest.approx(diagnostics["cross_language_nn_expected"], abs=0.15)
    groups = read_run_table(ws, first.run_id, "vote_groups")
    assert len(groups) == 40 and groups["vote_group"].nunique() == 2  # voters are pseudonymised: check via profile
    profile = read_run_table(ws, first.run_id, "cluster_vote_profile")
    bus = int(assignments.loc[assignments["contribution_id"] == "c0", "cluster"].iloc[0])
    rates = profile[profile["cluster"] == bus].set_index("vote_group")["agree_rate"]
    assert rates.max() > 0.75 and rates.min() < 0.25  # one camp likes the bus comments, the other does not
    assert len(read_run_table(ws, first.run_id, "consensus")) == 120
    manifest = list_runs(ws, stage="mapping")[0].manifest
    assert manifest["params"]["embedder"] == "fake" and manifest["params"]["seeds"] == [0, 1, 2]
    assert manifest["inputs"] and "cluster_all_seeds" in manifest["timings"]
    # every MapParams field is in the record, so the run can be re-made from its manifest alone
    fields = {f.name for f in dataclasses.fields(MapParams)}
    assert MapParams(**{k: manifest["params"][k] for k in fields}) == MapParams(n_seeds=3)

    again = opinion_map.run(
        ws, debate_id="town", params=MapParams(n_seeds=3), models=StageModels(embedder=fake_embedder)
    ).details
    assert again.n_new_embeddings == 0
    assert len(list_runs(ws, stage="embedding")) == 1
    np.testing.assert_array_equal(read_run_table(ws, again.run_id, "assignments")["cluster"], assignments["cluster"])


def test_cli_map_json(tmp_path):
    ws = small_debate(tmp_path, with_votes=False)
    result = CliRunner().invoke(
        app, ["map", "--workspace", str(ws.root), "--embedder", "fake", "--seeds", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert [r["debate_id"] for r in records] == ["town"]
    record = records[0]
    assert {"run_id", "n_clusters", "noise_share", "stability_ari", "nmi_language"} <= set(record)
    assert "vote_groups_ari_vs_published" not in record
    assert record["n_clusters"] == 3
