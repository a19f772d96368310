"""A contributions source file (CSV, TSV, JSON Lines or Parquet) as a header and chunks of string columns.

Every chunk carries ``_row``, the row (or line) number in the file, so that errors can name it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dembias.errors import IngestError
from dembias.ingest.csv_files import read_csv_chunks, read_header, sniff_delimiter
from dembias.ingest.source_files import check_decodes, iter_jsonl_objects, sniff_encoding

FORMATS = ("csv", "jsonl", "parquet")


def detect_format(path: Path, explicit: str | None = None) -> str:
    """The file format from ``explicit`` or the file name's suffix."""
    fmt = (explicit or path.suffix.lstrip(".")).lower()
    fmt = {"json": "jsonl", "ndjson": "jsonl", "tsv": "csv", "pq": "parquet"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise IngestError(path, f"unknown format {fmt!r}; use one of {list(FORMATS)} (or pass --format)")
    return fmt


def _jsonl_chunks(path: Path, encoding: str, chunk_rows: int) -> Iterator[pd.DataFrame]:
    rows: list[dict[str, Any]] = []
    numbers: list[int] = []
    for line_no, obj in iter_jsonl_objects(path, encoding):
        rows.append({k: "" if v is None else (v if isinstance(v, str) else json.dumps(v)) for k, v in obj.items()})
        numbers.append(line_no)
        if len(rows) >= chunk_rows:
            yield _frame(rows, numbers)
            rows, numbers = [], []
    if rows:
        yield _frame(rows, numbers)


def _frame(rows: list[dict[str, Any]], numbers: list[int]) -> pd.DataFrame:
    frame = pd.DataFrame(rows).fillna("").astype(str)
    frame["_row"] = np.asarray(numbers, dtype=np.int64)
    return frame


def _parquet_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    start = 1
    try:
        batches = pq.ParquetFile(path).iter_batches(batch_size=chunk_rows)
        for batch in batches:
            frame = batch.to_pandas().astype(object).where(lambda f: f.notna(), "").astype(str)
            frame["_row"] = np.arange(start, start + len(frame), dtype=np.int64)
            start += len(frame)
            yield frame
    except (OSError, ValueError, pa.ArrowException) as exc:  # corrupt pages past a readable schema
        raise IngestError(path, f"not a readable Parquet file: {exc}", row=start) from exc


def _refuse_duplicates(path: Path, header: list[str]) -> None:
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise IngestError(path, "duplicated column name", row=1, field=name)
        seen.add(name)


def header_and_chunks(
    path: Path, fmt: str, encoding: str | None, chunk_rows: int
) -> tuple[list[str], Callable[[], Iterator[pd.DataFrame]]]:
    """The file's header, and a function that reads it (again) as chunks of string columns with ``_row``.

    The JSONL header is every key of the file, in the order met; duplicated Parquet column names are refused.
    """
    if fmt == "parquet":
        try:
            schema = pq.read_schema(path)
        except Exception as exc:
            raise IngestError(path, f"not a readable Parquet file: {exc}") from exc
        _refuse_duplicates(path, list(schema.names))
        return list(schema.names), lambda: _parquet_chunks(path, chunk_rows)
    enc = sniff_encoding(path, encoding)
    check_decodes(path, enc)
    if fmt == "jsonl":
        with open(path, encoding=enc) as handle:
            first = next((line for line in handle if line.strip()), None)
        if first is None:
            raise IngestError(path, "the file is empty")
        try:
            header = list(json.loads(first))
        except (json.JSONDecodeError, TypeError, RecursionError) as exc:
            raise IngestError(path, "the first line is not a JSON object", row=1) from exc
        # keys first met on a later line were dropped (issue 20): the header is every key of the file, in
        # the order met (one more parsing pass); a chunk lacking some of them gets empty values
        keys = dict.fromkeys(header)
        for _line_no, obj in iter_jsonl_objects(path, enc):
            keys.update(dict.fromkeys(obj))
        header = list(keys)
        columns = [*header, "_row"]
        return header, lambda: (f.reindex(columns=columns, fill_value="") for f in _jsonl_chunks(path, enc, chunk_rows))
    delimiter = "\t" if path.suffix.lower() == ".tsv" else sniff_delimiter(path, enc)
    header = read_header(path, enc, delimiter)
    return header, lambda: read_csv_chunks(path, encoding=enc, delimiter=delimiter, chunk_rows=chunk_rows)
