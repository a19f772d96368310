"""The Ray engine in local mode gives the same embeddings as the local engine."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

ray = pytest.importorskip("ray", reason="the Ray engine is an optional extra: pip install '.[ray]'")
pytest.importorskip("ray.data", reason="the Ray engine needs Ray Data: pip install 'ray[data]'")

from dembias import jobs  # noqa: E402
from dembias.models.embedders import get_embedder  # noqa: E402
from dembias.models.ray_engine import RayEmbedder, embed_with_ray  # noqa: E402
from tests.fakes import FakeEmbedder  # noqa: E402
from tests.test_jobs import DEBATE, make_ws, run_embeddings  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COMMENTS = ROOT / "data" / "sources" / "polis" / "american-assembly.bowling-green" / "comments.csv"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def real_texts(n: int) -> list[str]:
    with open(COMMENTS, encoding="utf-8") as handle:
        texts = [row["comment-body"] for row in csv.DictReader(handle) if row["comment-body"].strip()]
    return texts[:n]


def test_ray_default_embedder_matches_local(local_ray):
    texts = real_texts(200)
    assert len(texts) == 200
    local = get_embedder("use-multilingual").embed(texts)
    distributed = embed_with_ray(texts, spec="use-multilingual", batch_size=64)
    assert distributed.shape == local.shape == (200, 512)
    np.testing.assert_allclose(distributed, local, atol=1e-5)


def test_ray_job_writes_the_same_run_as_the_local_engine(local_ray, tmp_path):
    ray_ws, local_ws = make_ws(tmp_path / "ray"), make_ws(tmp_path / "local")
    embedder = RayEmbedder("fake:8", batch_size=16)
    assert (embedder.model_id, embedder.revision, embedder.dim) == ("fake", FakeEmbedder(dim=8).revision, 8)
    jobs.submit_job(ray_ws, stage="embed", debate_id=DEBATE, model="fake:8", batch_size=16, engine="ray")
    jobs.submit_job(local_ws, stage="embed", debate_id=DEBATE, model="fake:8", batch_size=16)
    (by_ray,) = jobs.run_worker(ray_ws, once=True)
    (by_local,) = jobs.run_worker(local_ws, once=True)
    assert by_ray.status == by_local.status == "done", by_ray.error
    ray_hashes, ray_vectors = run_embeddings(ray_ws, by_ray.result["run_ids"][0])
    local_hashes, local_vectors = run_embeddings(local_ws, by_local.result["run_ids"][0])
    assert ray_hashes == local_hashes
    np.testing.assert_allclose(ray_vectors, local_vectors, atol=1e-6)
