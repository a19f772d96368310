"""Reader for generic contributions in CSV, JSONL or Parquet, with a column mapping, streamed in chunks.

Fields dembias knows (map yours with ``columns={"text": "body", ...}``; unmapped fields default to a
column of the same name when present):

=============  ==========================================================================
id             contribution id, unique within a debate (required)
text           the contribution (required, non-empty)
debate         debate id (or pass ``debate_id`` for the whole file)
language       ISO code; detected offline when absent and no ``language`` option is given
country        country code or name
author         author id (pseudonymised with HMAC before storage)
created_at     ISO 8601 timestamp
agree, disagree, pass   vote counts (whole numbers >= 0)
=============  ==========================================================================

Every other column is kept in ``metadata`` (JSON), e.g. age group or region, for ``--group-by``.
An optional votes CSV (``contribution_id``, ``voter_id``, ``vote`` in {-1, 0, 1}, optional
``timestamp``) is read in chunks; the last vote of a voter on a contribution counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from dembias.errors import IngestError
from dembias.ingest.common import (
    CHUNK_ROWS,
    VOTE_VALUES,
    DebateBundle,
    DebateRecord,
    check_decodes,
    iter_jsonl_objects,
    parse_int_column,
    parse_timestamps,
    read_csv_chunks,
    read_header,
    require_columns,
    require_ids,
    require_regular_file,
    require_text,
    sniff_delimiter,
    sniff_encoding,
)
from dembias.ingest.language import detect_languages
from dembias.ingest.personal import DEFAULT_PERSONAL_DATA, PersonalColumns, check_action
from dembias.ingest.pseudonym import Pseudonymiser
from dembias.validation import (
    ParameterError,
    normalise_country,
    normalise_language,
    normalise_optional_country,
    normalise_optional_language,
)

FIELDS = ("id", "text", "debate", "language", "country", "author", "created_at", "agree", "disagree", "pass")
FORMATS = ("csv", "jsonl", "parquet")
VOTE_COLUMNS = ("contribution_id", "voter_id", "vote")


def detect_format(path: Path, explicit: str | None = None) -> str:
    """The file format from ``explicit`` or the file name's suffix."""
    fmt = (explicit or path.suffix.lstrip(".")).lower()
    fmt = {"json": "jsonl", "ndjson": "jsonl", "tsv": "csv", "pq": "parquet"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise IngestError(path, f"unknown format {fmt!r}; use one of {list(FORMATS)} (or pass --format)")
    return fmt


def resolve_columns(path: Path, header: list[str], columns: Mapping[str, str] | None) -> dict[str, str]:
    """Map dembias fields to the file's columns; unknown field names and missing columns raise."""
    columns = dict(columns or {})
    for name in columns:
        if name not in FIELDS:
            raise IngestError(path, f"unknown field {name!r} in the column mapping; fields are {list(FIELDS)}")
    resolved = {}
    for name in FIELDS:
        if name in columns:
            if columns[name] not in header:
                raise IngestError(path, f"mapped column {columns[name]!r} is not in the header", row=1, field=name)
            resolved[name] = columns[name]
        elif name in header:
            resolved[name] = name
    for name in ("id", "text"):
        if name not in resolved:
            raise IngestError(
                path,
                f"missing column; the header has {header[:12]}",
                row=1,
                field=name,
                hint=f"map it with --map {name}=<column>",
            )
    if "_row" in header:  # dembias numbers rows in a column of that name: the user's would be overwritten
        raise IngestError(path, "the column name '_row' is reserved by dembias; rename it", row=1, field="_row")
    return resolved


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


def _header_and_chunks(
    path: Path, fmt: str, encoding: str | None, chunk_rows: int
) -> tuple[list[str], Callable[[], Iterator[pd.DataFrame]]]:
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


def _debate_ids_in(path: Path, chunks: Callable[[], Iterator[pd.DataFrame]], column: str) -> list[str]:
    """The debates of a file with a debate column, in order of first appearance (an empty id is an error)."""
    seen: dict[str, None] = {}
    for chunk in chunks():
        values = chunk[column].str.strip()
        if (values == "").any():
            first = (values == "").idxmax()
            raise IngestError(path, "empty debate id", row=int(chunk.loc[first, "_row"]), field=column)
        seen.update(dict.fromkeys(values.unique()))
    return list(seen)


def read_contributions(
    path: str | Path,
    *,
    pseudonymiser_for: Callable[[str], Pseudonymiser],
    columns: Mapping[str, str] | None = None,
    debate_id: str | None = None,
    title: str | None = None,
    platform: str = "generic",
    country: str | None = None,
    language: str | None = None,
    licence: str | None = None,
    attribution: str | None = None,
    fmt: str | None = None,
    encoding: str | None = None,
    votes_path: str | Path | None = None,
    chunk_rows: int = CHUNK_ROWS,
    personal_data: str = DEFAULT_PERSONAL_DATA,
) -> list[DebateBundle]:
    """Read a contributions file into one :class:`DebateBundle` per debate, each streamed in chunks.

    Either ``debate_id`` names the debate of every row, or the file has a ``debate`` column (then the
    file is read once to list the debates and once per debate; votes need a single debate).
    Unmapped columns that hold names, e-mail addresses or phone numbers (see
    :mod:`dembias.ingest.personal`) are pseudonymised (default), dropped or kept as ``personal_data``
    says; the ingest summary lists them under ``personal_data``.
    """
    personal = PersonalColumns(action=check_action(personal_data))
    country = normalise_optional_country(country)
    language = normalise_optional_language(language)
    path = Path(path)
    require_regular_file(path)
    fmt = detect_format(path, fmt)
    header, chunks = _header_and_chunks(path, fmt, encoding, chunk_rows)
    mapping = resolve_columns(path, header, columns)
    if debate_id is None and "debate" not in mapping:
        raise IngestError(path, "no debate column; pass --debate ID or map a debate column", field="debate")
    debate_ids = [debate_id] if debate_id is not None else _debate_ids_in(path, chunks, mapping["debate"])
    if votes_path is not None and len(debate_ids) != 1:
        raise IngestError(votes_path, "a votes file goes with a single debate; split the contributions file")
    extra_columns = [c for c in header if c not in mapping.values()]

    bundles = []
    for did in debate_ids:
        pseud = pseudonymiser_for(did)

        def contribution_chunks(did: str = did, pseud: Pseudonymiser = pseud) -> Iterator[pd.DataFrame]:
            for chunk in chunks():
                if debate_id is None:
                    chunk = chunk[chunk[mapping["debate"]].str.strip() == did]
                    if chunk.empty:
                        continue
                yield _normalise(
                    path, chunk, mapping, extra_columns, pseud, language=language, country=country, personal=personal
                )

        record = DebateRecord(
            debate_id=did,
            title=title if title and len(debate_ids) == 1 else did,
            platform=platform,
            country=country,
            language=language,
            licence=licence,
            attribution=attribution,
            source_path=str(path),
        )
        votes = _vote_chunks(Path(votes_path), encoding, pseud, chunk_rows) if votes_path is not None else ()
        bundles.append(
            DebateBundle(
                debate=record,
                contributions=contribution_chunks(),
                votes=votes,
                contributions_source=str(path),
                votes_source=str(votes_path) if votes_path is not None else None,
                id_field=mapping["id"],
                vote_id_field="contribution_id",
                report=lambda: {"personal_data": personal.summary()} if personal.summary() else {},
            )
        )
    return bundles


def _normalise(
    path: Path,
    chunk: pd.DataFrame,
    mapping: Mapping[str, str],
    extra_columns: list[str],
    pseud: Pseudonymiser,
    *,
    language: str | None,
    country: str | None,
    personal: PersonalColumns | None = None,
) -> pd.DataFrame:
    chunk = chunk.reset_index(drop=True)
    ids = chunk[mapping["id"]].str.strip()
    if (ids == "").any():
        first = (ids == "").idxmax()
        raise IngestError(path, "empty contribution id", row=int(chunk.loc[first, "_row"]), field=mapping["id"])
    texts = require_text(path, chunk, mapping["text"])

    def optional_text(name: str, default: str | None) -> pd.Series:
        if name in mapping:
            values = chunk[mapping[name]].str.strip()
            return values.where(values != "", default)
        return pd.Series([default] * len(chunk), dtype=object)

    def counts(name: str) -> pd.Series:
        if name in mapping:
            return parse_int_column(path, chunk, mapping[name], minimum=0)
        return pd.Series(pd.array([None] * len(chunk), dtype="Int64"))

    if "language" in mapping:
        langs = _checked_codes(
            path, chunk, mapping["language"], optional_text("language", language), normalise_language
        )
        missing = langs.isna()
        if missing.any():
            langs[missing] = detect_languages(texts[missing])
    elif language:
        langs = pd.Series([language] * len(chunk), dtype=object)
    else:
        langs = pd.Series(detect_languages(texts), dtype=object)
    created = (
        parse_timestamps(path, chunk, mapping["created_at"])
        if "created_at" in mapping
        else pd.Series(pd.NaT, index=chunk.index, dtype="datetime64[us]")
    )
    if extra_columns and personal is not None:
        chunk, extra_columns = personal.apply(chunk, extra_columns, pseud)
    if extra_columns:
        records = chunk[extra_columns].to_dict("records")
        metadata = [json.dumps({k: v for k, v in r.items() if v != ""}, ensure_ascii=False) for r in records]
    else:
        metadata = [None] * len(chunk)
    return pd.DataFrame(
        {
            "contribution_id": ids,
            "author_pid": pseud.series(chunk[mapping["author"]].str.strip()) if "author" in mapping else None,
            "text": texts,
            "language": langs,
            "country": _checked_codes(
                path, chunk, mapping.get("country", "country"), optional_text("country", country), normalise_country
            ),
            "created_at": created,
            "n_agree": counts("agree"),
            "n_disagree": counts("disagree"),
            "n_pass": counts("pass"),
            "moderation": np.ones(len(chunk), dtype=np.int16),
            "is_rejected": np.zeros(len(chunk), dtype=bool),
            "metadata": metadata,
            "_row": chunk["_row"],
        }
    )


def _checked_codes(
    path: Path, chunk: pd.DataFrame, field: str, values: pd.Series, normalise: Callable[[str], str]
) -> pd.Series:
    """Per-row languages or countries normalised (each distinct value once); an IngestError names the row."""
    mapping: dict[str, str] = {}
    for value in values.dropna().unique():
        try:
            mapping[value] = normalise(value)
        except ParameterError as exc:
            first = int(chunk.loc[(values == value).to_numpy(), "_row"].iloc[0])
            raise IngestError(path, str(exc), row=first, field=field) from None
    return values.map(mapping).astype(object).where(values.notna(), None)


def _vote_chunks(path: Path, encoding: str | None, pseud: Pseudonymiser, chunk_rows: int) -> Iterator[pd.DataFrame]:
    if not path.exists():
        raise IngestError(path, "no such file")
    enc = sniff_encoding(path, encoding)
    check_decodes(path, enc)
    delimiter = sniff_delimiter(path, enc)
    header = read_header(path, enc, delimiter)
    require_columns(path, header, VOTE_COLUMNS)
    usecols = [c for c in (*VOTE_COLUMNS, "timestamp") if c in header]
    for chunk in read_csv_chunks(path, encoding=enc, delimiter=delimiter, usecols=usecols, chunk_rows=chunk_rows):
        vote = parse_int_column(path, chunk, "vote", allowed=VOTE_VALUES)
        if vote.isna().any():
            first = vote.isna().idxmax()
            raise IngestError(path, "empty vote", row=int(chunk.loc[first, "_row"]), field="vote")
        yield pd.DataFrame(
            {
                "contribution_id": chunk["contribution_id"].str.strip(),
                "participant_pid": pseud.series(require_ids(path, chunk, "voter_id", what="voter id")),
                "vote": vote.astype("int8"),
                "voted_at": parse_timestamps(path, chunk, "timestamp")
                if "timestamp" in chunk.columns
                else pd.Series(pd.NaT, index=chunk.index, dtype="datetime64[us]"),
                "row_number": chunk["_row"],
            }
        )
