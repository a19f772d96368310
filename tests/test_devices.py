"""Device detection and out-of-memory batch halving."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dembias.models.devices import (
    OutOfMemoryAtMinimum,
    adaptive_batches,
    detect_device,
    is_oom,
    with_oom_retry,
)
from tests.fakes import FakeEmbedder


class OomAboveEmbedder:
    """A fake embedder that raises CUDA's out-of-memory error for batches larger than ``limit``."""

    def __init__(self, limit: int, error: type[BaseException] = torch.cuda.OutOfMemoryError) -> None:
        self.inner = FakeEmbedder(dim=8)
        self.limit = limit
        self.error = error
        self.sizes: list[int] = []

    def embed(self, texts):
        self.sizes.append(len(texts))
        if len(texts) > self.limit:
            raise self.error("CUDA out of memory. Tried to allocate 2.00 GiB")
        return self.inner.embed(texts)


TEXTS = [f"topic{i % 3}::text {i}" for i in range(50)]


def test_oom_halves_the_batch_and_keeps_the_smaller_size():
    embedder = OomAboveEmbedder(limit=8)
    halvings = []
    batches = list(adaptive_batches(TEXTS, embedder.embed, batch_size=32, on_oom=lambda a, b: halvings.append((a, b))))
    assert halvings == [(32, 16), (16, 8)]
    # failed tries at 32 and 16, then 8 for the rest: 6 batches of 8 and one of 2
    assert embedder.sizes == [32, 16, 8, 8, 8, 8, 8, 8, 2]
    assert [(s, e) for s, e, _ in batches] == [(i, min(i + 8, 50)) for i in range(0, 50, 8)]
    vectors = np.vstack([v for _, _, v in batches])
    np.testing.assert_allclose(vectors, FakeEmbedder(dim=8).embed(TEXTS))


def test_runtime_error_saying_out_of_memory_also_halves():
    embedder = OomAboveEmbedder(limit=5, error=RuntimeError)
    batches = list(adaptive_batches(TEXTS[:12], embedder.embed, batch_size=12))
    assert embedder.sizes == [12, 6, 3, 3, 3, 3]
    assert sum(len(v) for _, _, v in batches) == 12


def test_out_of_memory_at_the_minimum_batch_size_is_an_error():
    embedder = OomAboveEmbedder(limit=0)
    with pytest.raises(OutOfMemoryAtMinimum, match="batch size 1"):
        list(adaptive_batches(TEXTS[:4], embedder.embed, batch_size=4))
    embedder = OomAboveEmbedder(limit=3)
    with pytest.raises(OutOfMemoryAtMinimum, match="batch size 4"):
        list(adaptive_batches(TEXTS[:8], embedder.embed, batch_size=8, min_batch_size=4))


def test_other_errors_propagate_without_retry():
    calls = []

    def broken(batch):
        calls.append(len(batch))
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        list(adaptive_batches(TEXTS, broken, batch_size=16))
    assert calls == [16]


def test_is_oom():
    assert is_oom(torch.cuda.OutOfMemoryError("CUDA out of memory"))
    assert is_oom(RuntimeError("MPS backend out of memory"))
    assert not is_oom(RuntimeError("shape mismatch"))
    assert not is_oom(ValueError("out of memory"))


def test_with_oom_retry_halves_a_whole_call():
    seen = []

    def score(batch_size: int) -> int:
        seen.append(batch_size)
        if batch_size > 10:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory")
        return batch_size * 2

    assert with_oom_retry(score, batch_size=64) == 16
    assert seen == [64, 32, 16, 8]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the fallback of a machine without CUDA")
def test_cpu_fallback_with_warning():
    info = detect_device("cuda")
    assert info.device == "cpu"
    assert "no CUDA device" in info.warning
    auto = detect_device(None)
    assert auto.device in ("cpu", "mps")
    if auto.device == "cpu":
        assert "no GPU found" in auto.warning
        assert auto.free_bytes is None or auto.free_bytes > 0
    assert detect_device("cpu").warning is None


def test_unknown_device_is_refused():
    from dembias.errors import DembiasError

    with pytest.raises(DembiasError, match="unknown device"):
        detect_device("tpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_reports_free_memory():
    info = detect_device("cuda")
    assert info.device.startswith("cuda")
    assert 0 < info.free_bytes <= info.total_bytes
