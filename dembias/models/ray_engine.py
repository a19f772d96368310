"""Scale-out embedding with Ray Data (optional extra: ``pip install .[ray]``).

Texts go to Parquet, Ray Data reads them and runs :class:`EmbedBatch` with ``map_batches`` on a pool
of actors (each loads the model once; each takes ``num_gpus`` GPUs when the cluster has GPUs), writes
the vectors back to Parquet, and the driver reads them in input order. Rescoring jobs with
``--engine ray`` embed through :class:`RayEmbedder`, so the vectors land in an ordinary embedding run
(checkpointed and resumable like the local engine). ``ray.init`` connects to ``$RAY_ADDRESS`` when set
(a cluster), else starts a local Ray.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dembias.errors import DembiasError
from dembias.models.embedders import DEFAULT_BATCH_SIZE, get_embedder
from dembias.models.vectors import arrow_to_matrix, text_sha256, vectors_to_arrow


def _ray() -> Any:
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise DembiasError('the Ray engine needs Ray Data: pip install "dembias[ray]" (or "ray[data]")') from exc
    return ray


def ensure_ray(*, address: str | None = None, num_cpus: int | None = None) -> Any:
    """Connect to Ray once: ``address`` or ``$RAY_ADDRESS`` (a cluster), else a local Ray with ``num_cpus``."""
    ray = _ray()
    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS")
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
    return ray


class EmbedBatch:
    """A Ray Data callable class: the embedder is loaded once per actor, then embeds Arrow batches."""

    def __init__(self, spec: str, device: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        self.embedder = get_embedder(spec, device=device, batch_size=batch_size)

    def __call__(self, batch: pa.Table) -> pa.Table:
        vectors = self.embedder.embed(batch.column("text").to_pylist())
        out = vectors_to_arrow(batch.column("text_sha256").to_pylist(), vectors)
        return out.append_column("row", batch.column("row"))


def describe_embedder(spec: str, *, device: str | None = None) -> tuple[str, str, int]:
    """(model id, revision, dimension) of an embedder, read on a Ray worker (the driver loads no model)."""
    ray = ensure_ray()

    @ray.remote(num_gpus=_gpus_per_actor(ray, None))
    def describe(spec: str, device: str | None) -> tuple[str, str, int]:
        embedder = get_embedder(spec, device=device)
        return embedder.model_id, embedder.revision, int(embedder.dim)

    return ray.get(describe.remote(spec, device))


def _gpus_per_actor(ray: Any, num_gpus: float | None) -> float:
    if num_gpus is not None:
        return float(num_gpus)
    return 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0


def embed_with_ray(
    texts: Sequence[str],
    *,
    spec: str,
    device: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    actors: int | None = None,
    num_gpus: float | None = None,
    work_dir: Path | None = None,
) -> np.ndarray:
    """Embed ``texts`` with Ray Data (Parquet in, ``map_batches`` on an actor pool, Parquet out), in order.

    ``actors`` defaults to the number of GPUs of the cluster (one GPU each), else 1 on CPUs (the default
    embedder already uses every core of its node).
    """
    ray = ensure_ray()
    gpus = _gpus_per_actor(ray, num_gpus)
    if actors is None:
        actors = max(1, int(ray.cluster_resources().get("GPU", 0) // gpus)) if gpus else 1
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        source = Path(tmp) / "texts.parquet"
        target = Path(tmp) / "vectors"
        pq.write_table(
            pa.table(
                {
                    "row": pa.array(range(len(texts)), type=pa.int64()),
                    "text_sha256": pa.array([text_sha256(t) for t in texts], type=pa.string()),
                    "text": pa.array(list(texts), type=pa.string()),
                }
            ),
            source,
        )
        dataset = ray.data.read_parquet(str(source)).map_batches(
            EmbedBatch,
            fn_constructor_kwargs={
                "spec": spec,
                "device": device if gpus else (device or "cpu"),
                "batch_size": batch_size,
            },
            batch_size=batch_size,
            batch_format="pyarrow",
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_gpus=gpus,
        )
        dataset.write_parquet(str(target))
        table = pq.read_table(target).sort_by("row")
    if table.num_rows != len(texts):
        raise DembiasError(f"Ray returned {table.num_rows} vectors for {len(texts)} texts")
    first = table.column("vector")
    dim = len(first[0]) if table.num_rows else 0
    return arrow_to_matrix(first, dim)


class RayEmbedder:
    """The :class:`~dembias.models.embedders.Embedder` protocol over :func:`embed_with_ray` (model id, revision and
    dimension are read on a Ray worker; each ``embed`` call is one Ray Data pipeline)."""

    def __init__(
        self,
        spec: str,
        *,
        device: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        actors: int | None = None,
        num_gpus: float | None = None,
    ) -> None:
        self.spec, self.device, self.batch_size = spec, device, batch_size
        self.actors, self.num_gpus = actors, num_gpus
        self.model_id, self.revision, self.dim = describe_embedder(spec, device=device)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` on the Ray cluster (rows L2-normalised by the embedder)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return embed_with_ray(
            texts,
            spec=self.spec,
            device=self.device,
            batch_size=self.batch_size,
            actors=self.actors,
            num_gpus=self.num_gpus,
        )
