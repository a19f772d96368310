"""Embedding vectors as Arrow columns, and the text hash that keys them (the embedding cache's format).

Vectors travel as fixed-size lists of float32 (``FLOAT[dim]`` in a run file, a Parquet column for Ray),
keyed by the sha256 of the text's UTF-8 bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def text_sha256(text: str) -> str:
    """Hex sha256 of a text's UTF-8 bytes (the cache key)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
