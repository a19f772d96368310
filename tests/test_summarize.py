"""Baseline summarizers on hand-made debates."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dembias.pluralism.baselines import (
    BASELINES,
    allocate,
    baseline_outputs,
    pick_centroid,
    pick_mmr,
    pick_random,
    pick_top_voted,
)
from dembias.pluralism.metrics import score_pluralism
from tests.fakes import FakeEmbedder


def test_allocate_is_proportional_with_one_per_cluster():
    # proportional shares of 5 units over 6/3/1 are 3, 1.5, 0.5: one each, then the largest remainder
    assert allocate([6, 3, 1], 5) == [3, 1, 1]
    assert allocate([6, 3, 1], 2) == [1, 1, 0]  # budget below the number of clusters: largest first
    assert allocate([2, 2], 10) == [2, 2]  # never more than a cluster holds
    assert sum(allocate([50, 30, 15, 5], 20)) == 20
    assert allocate([50, 30, 15, 5], 20) == [10, 6, 3, 1]


def test_top_voted_by_agrees_or_gac():
    frame = pd.DataFrame({"contribution_id": ["a", "b", "c"], "n_agree": [5, 9, 5]})
    assert pick_top_voted(frame, 2) == [1, 0]  # b (9), then a before c on ties
    consensus = pd.DataFrame({"contribution_id": ["a", "b", "c"], "gac": [0.1, 0.2, 0.6]})
    assert pick_top_voted(frame, 2, consensus=consensus) == [2, 1]


def test_centroid_and_mmr():
    vectors = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.7, 0.7]])
    # the mean points at about (0.65, 0.45): (0.7, 0.7) is closest, then (0.9, 0.1)
    assert pick_centroid(vectors, 2) == [3, 1]
    assert pick_centroid(vectors, 3) == [3, 1, 0]
    # MMR with lambda 0.3 (relevance to the centroid 0.83, 0.89, 0.56, 0.98 for rows 0..3): after row 3,
    # row 0 scores 0.3 * 0.83 - 0.7 * 0.71 = -0.25 against -0.28 for row 1; then row 1, a near-duplicate of
    # row 0 (similarity 0.99), loses to row 2: -0.43 against -0.33
    assert pick_mmr(vectors, 3, lambda_=0.3) == [3, 0, 2]
    assert sorted(pick_mmr(vectors, 10)) == [0, 1, 2, 3]


def test_random_is_seeded():
    assert pick_random(100, 5, seed=1) == pick_random(100, 5, seed=1)
    assert pick_random(100, 5, seed=1) != pick_random(100, 5, seed=2)
    assert sorted(pick_random(3, 10)) == [0, 1, 2]


def synthetic(sizes=(60, 25, 10, 5)):
    embedder = FakeEmbedder(dim=16, noise=0.3, seed=0)
    texts, clusters = [], []
    for c, size in enumerate(sizes):
        texts += [f"topic{c}::contribution {i}" for i in range(size)]
        clusters += [c] * size
    ids = [f"{i:03d}" for i in range(len(texts))]
    rng = np.random.default_rng(0)
    # the majority cluster gets the votes, so top-voted ignores minorities
    n_agree = [int(rng.integers(50, 100)) if c == 0 else int(rng.integers(0, 40)) for c in clusters]
    contributions = pd.DataFrame({"debate_id": "d", "contribution_id": ids, "text": texts, "n_agree": n_agree})
    assignments = pd.DataFrame({"contribution_id": ids, "cluster": clusters})
    return contributions, embedder.embed(texts), assignments


def test_baseline_outputs_are_storable_records_and_cluster_representative_is_fair():
    contributions, embeddings, assignments = synthetic()
    records = baseline_outputs(contributions, embeddings, assignments, budget=10, seed=0)
    assert [r.model for r in records] == [f"baseline:{b}" for b in BASELINES]
    uer = {}
    for record in records:
        assert record.task == "summary" and record.debate_id == "d"
        assert len(record.units) == 10
        assert all(len(u.citations) == 1 for u in record.units)
        cited = [u.citations[0] for u in record.units]
        assert len(set(cited)) == 10
        links = pd.DataFrame({"unit_index": range(10), "contribution_id": cited})
        result = score_pluralism(contributions, assignments, links, n_units=10, n_resamples=100)
        uer[record.model] = result.scores.set_index("metric").loc["uer_topics", "value"]
    # 10 units over 60/25/10/5 -> 6, 2, 1, 1 (p_t 0.6, 0.2, 0.1, 0.1): only b is under by 0.05, UER = 0.05 / 4
    assert uer["baseline:cluster-representative"] == pytest.approx(0.0125)
    assert uer["baseline:top-voted"] > uer["baseline:cluster-representative"]
    # output ids are stable for a (debate, model, budget, seed)
    again = baseline_outputs(contributions, embeddings, assignments, budget=10, seed=0)
    assert [r.output_id for r in again] == [r.output_id for r in records]


def test_baseline_outputs_store_in_the_corpus(tmp_path):
    from dembias.ingest.outputs import store_outputs
    from dembias.workspace.corpus import corpus_writer, insert_frame
    from dembias.workspace.folder import Workspace

    ws = Workspace(tmp_path)
    contributions, embeddings, assignments = synthetic((4, 3))
    records = baseline_outputs(contributions, embeddings, assignments, budget=3, baselines=["random", "mmr"])
    with corpus_writer(ws) as con:
        insert_frame(
            con,
            "debates",
            pd.DataFrame([{"debate_id": "d", "title": "t", "platform": "test", "ingested_at": pd.Timestamp.now()}]),
        )
        insert_frame(con, "contributions", contributions[["debate_id", "contribution_id", "text", "n_agree"]])
        assert store_outputs(con, records) == 2
    import duckdb

    con = duckdb.connect(str(ws.corpus_path), read_only=True)
    assert con.execute("SELECT count(*) FROM citations").fetchone()[0] == 6
    assert sorted(r[0] for r in con.execute("SELECT model FROM outputs").fetchall()) == [
        "baseline:mmr",
        "baseline:random",
    ]
