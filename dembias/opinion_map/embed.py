"""The embedding stage: a debate's texts embedded through a run-file cache (the models live in dembias.models).

Embeddings are cached by (model id + revision, sha256 of the text). Each embedding run is an immutable
run file of stage ``embedding`` with one table ``embeddings(text_sha256 VARCHAR, vector FLOAT[dim])``
written and read through Arrow as fixed-size lists. :func:`embed_debate` embeds only the texts that no
earlier run of the same model and revision holds, and writes a new run only for those.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from dembias.errors import DembiasError
from dembias.models.embedders import Embedder, normalise_rows
from dembias.models.vectors import arrow_to_matrix, text_sha256, vectors_to_arrow
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.corpus import open_corpus
from dembias.workspace.debates import debate_exists
from dembias.workspace.embeddings import cached_embedding_rows
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import RunRecord, list_runs, write_run
from dembias.workspace.stage import Progress

EMBEDDING_STAGE = "embedding"
CHECKPOINT_EVERY = 100_000  # new texts per embedding run (the unit of resumption)


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


def embedding_runs(ws: Workspace, embedder: Embedder) -> list[str]:
    """Ids of the embedding runs made with this embedder's model id and revision, oldest first."""
    return [
        r.run_id
        for r in list_runs(ws, stage=EMBEDDING_STAGE)
        if r.manifest.get("params", {}).get("model_id") == embedder.model_id
        and r.manifest.get("params", {}).get("revision") == embedder.revision
    ]


def _wanted(hashes: Sequence[str]) -> pa.Table:
    return pa.table({"text_sha256": pa.array(sorted(set(hashes)), type=pa.string())})


def _lookup(ws: Workspace, run_id: str, wanted: pa.Table, dim: int) -> tuple[list[str], np.ndarray]:
    found = cached_embedding_rows(ws, run_id, wanted, with_vectors=True)
    return found.column("text_sha256").to_pylist(), arrow_to_matrix(found.column("vector"), dim)


def cached_hashes(ws: Workspace, embedder: Embedder, hashes: Sequence[str]) -> set[str]:
    """Which of ``hashes`` an earlier embedding run of the same model and revision already holds."""
    wanted = _wanted(hashes)
    found: set[str] = set()
    for run_id in embedding_runs(ws, embedder):
        rows = cached_embedding_rows(ws, run_id, wanted, with_vectors=False)
        found.update(rows.column("text_sha256").to_pylist())
    return found


@dataclass(frozen=True)
class EmbedHooks:
    """What a caller that supervises the embedding (a rescoring job) can plug in.

    ``on_batch(done, total)`` is told after each batch (new texts embedded so far, new texts in all)
    and may raise to stop (a cancel): finished blocks stay as runs, so the next call resumes from them.
    ``on_oom(old, new)`` is told when an out-of-memory error halved the batch size
    (:func:`dembias.models.devices.adaptive_batches`). ``extra_manifest`` goes into each run written.
    """

    on_batch: Callable[[int, int], None] | None = None
    on_oom: Callable[[int, int], None] | None = None
    extra_manifest: Mapping[str, Any] | None = None


def _cached_vectors(
    ws: Workspace, embedder: Embedder, unique: Sequence[str]
) -> tuple[dict[str, np.ndarray], list[str]]:
    """Vectors of ``unique`` hashes already held by runs of this embedder (newest run first), and those runs."""
    known: dict[str, np.ndarray] = {}
    used: list[str] = []
    remaining = set(unique)
    for run_id in reversed(embedding_runs(ws, embedder)):
        if not remaining:
            break
        keys, matrix = _lookup(ws, run_id, _wanted(remaining), embedder.dim)
        if keys:
            used.append(run_id)
        for key, row in zip(keys, matrix, strict=True):
            if key in remaining:
                known[key] = row
                remaining.discard(key)
    return known, used


def _embed_block(
    texts: Sequence[str], embedder: Embedder, *, batch_size: int, hooks: EmbedHooks, report: Callable[[int], None]
) -> np.ndarray:
    """Embed one block in batches; on out-of-memory the batch halves and the same batch is retried."""
    from dembias.models.devices import adaptive_batches

    def embed_batch(batch: Sequence[str]) -> np.ndarray:
        if hooks.on_oom is not None and hasattr(embedder, "batch_size"):
            embedder.batch_size = max(1, len(batch))  # one model batch per call, so halving takes effect
        return np.asarray(embedder.embed(list(batch)), dtype=np.float32)

    chunks = []
    for _start, stop, vectors in adaptive_batches(texts, embed_batch, batch_size=batch_size, on_oom=hooks.on_oom):
        chunks.append(vectors)
        report(stop)
    return normalise_rows(np.vstack(chunks))


def embed_texts(
    ws: Workspace,
    texts: Sequence[str],
    embedder: Embedder,
    *,
    debate_id: str | None = None,
    batch_size: int = 512,
    checkpoint_every: int = CHECKPOINT_EVERY,
    progress: Progress | None = None,
    hooks: EmbedHooks | None = None,
) -> EmbeddingResult:
    """Embeddings of ``texts`` through the workspace cache; unseen texts are embedded and stored in new runs.

    New texts are stored ``checkpoint_every`` at a time, one run per block, so a crash or an interruption
    loses at most one block: the next call finds the finished blocks in the cache and embeds the rest.
    This is the one embedding implementation: the CLI, the pipeline and rescoring jobs all call it.
    """
    started = time.perf_counter()
    hooks = hooks or EmbedHooks()
    hashes = [text_sha256(t) for t in texts]
    unique = list(dict.fromkeys(hashes))
    known, used = _cached_vectors(ws, embedder, unique)
    first_text = dict(zip(hashes, texts, strict=True))
    todo = [h for h in unique if h not in known]
    new_run_ids: list[str] = []
    for block_start in range(0, len(todo), checkpoint_every):
        # each block lands as its own run: an interrupted embedding resumes from the last finished block
        block = todo[block_start : block_start + checkpoint_every]
        block_started = time.perf_counter()

        def report(done_in_block: int, offset: int = block_start) -> None:
            if progress:
                progress(f"embedded {offset + done_in_block}/{len(todo)} new texts")
            if hooks.on_batch:
                hooks.on_batch(offset + done_in_block, len(todo))

        new = _embed_block([first_text[h] for h in block], embedder, batch_size=batch_size, hooks=hooks, report=report)
        info = write_run(
            ws,
            stage=EMBEDDING_STAGE,
            debate_id=debate_id,
            tables={"embeddings": vectors_to_arrow(block, new)},
            record=RunRecord(
                params={"model_id": embedder.model_id, "revision": embedder.revision, "dim": embedder.dim},
                inputs=[],
                timings={"embed": time.perf_counter() - block_started},
                extra=hooks.extra_manifest,
            ),
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


def load_contributions(ws: Workspace, debate_id: str, *, include_rejected: bool = False) -> pd.DataFrame:
    """A debate's contributions (id, text, language, author), non-rejected ones unless asked, in id order."""
    con = open_corpus(ws)
    try:
        frame = select_contributions(
            con,
            debate_id=debate_id,
            include_rejected=include_rejected,
            columns=("contribution_id", "text", "language", "author_pid"),
            debate_defaults=False,
        )
    finally:
        con.close()
    if frame.empty and not debate_exists(ws, debate_id):
        raise DembiasError(f"no debate {debate_id!r} in {ws.root}")
    return frame


def embed_debate(
    ws: Workspace,
    debate_id: str,
    embedder: Embedder,
    *,
    include_rejected: bool = False,
    progress: Progress | None = None,
    batch_size: int = 512,
    checkpoint_every: int = CHECKPOINT_EVERY,
    hooks: EmbedHooks | None = None,
) -> tuple[pd.DataFrame, EmbeddingResult]:
    """The debate's contributions and their embeddings (rows aligned), embedding only unseen texts."""
    contributions = load_contributions(ws, debate_id, include_rejected=include_rejected)
    result = embed_texts(
        ws,
        contributions["text"].tolist(),
        embedder,
        debate_id=debate_id,
        progress=progress,
        batch_size=batch_size,
        checkpoint_every=checkpoint_every,
        hooks=hooks,
    )
    return contributions, result
