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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dembias.errors import IngestError
from dembias.ingest.csv_files import CHUNK_ROWS, read_csv_chunks, read_header, require_columns, sniff_delimiter
from dembias.ingest.debate_bundle import DebateBundle, DebateRecord
from dembias.ingest.field_checks import VOTE_VALUES, parse_int_column, parse_timestamps, require_ids, require_text
from dembias.ingest.language import detect_languages
from dembias.ingest.personal import DEFAULT_PERSONAL_DATA, PersonalColumns, check_action
from dembias.ingest.pseudonym import Pseudonymiser
from dembias.ingest.source_files import check_decodes, require_regular_file, sniff_encoding
from dembias.ingest.tabular_sources import detect_format, header_and_chunks
from dembias.validation import (
    ParameterError,
    normalise_country,
    normalise_language,
    normalise_optional_country,
    normalise_optional_language,
)

FIELDS = ("id", "text", "debate", "language", "country", "author", "created_at", "agree", "disagree", "pass")
VOTE_COLUMNS = ("contribution_id", "voter_id", "vote")


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


@dataclass(frozen=True)
class ContributionsOptions:
    """How to read a contributions file: the column mapping, the debate, and the debate's record.

    ``columns`` maps dembias fields to the file's columns; ``debate_id`` names the debate of every row
    (else the file has a ``debate`` column); ``title``, ``platform``, ``country``, ``language``,
    ``licence`` and ``attribution`` describe the debate (``language`` and ``country`` also fill the
    contributions that have none); ``fmt`` and ``encoding`` override what the file's name and bytes
    say; ``votes_path`` names an optional votes CSV; ``personal_data`` says what happens to unmapped
    columns holding personal data (see :mod:`dembias.ingest.personal`).
    """

    columns: Mapping[str, str] | None = None
    debate_id: str | None = None
    title: str | None = None
    platform: str = "generic"
    country: str | None = None
    language: str | None = None
    licence: str | None = None
    attribution: str | None = None
    fmt: str | None = None
    encoding: str | None = None
    votes_path: str | Path | None = None
    chunk_rows: int = CHUNK_ROWS
    personal_data: str = DEFAULT_PERSONAL_DATA


@dataclass(frozen=True)
class _Source:
    """A contributions file opened for reading: its columns, their mapping, its debates, and the checked
    values that fill the contributions (language, country, what happens to personal data)."""

    path: Path
    header: list[str]
    chunks: Callable[[], Iterator[pd.DataFrame]]
    mapping: dict[str, str]
    extra_columns: list[str]
    debate_ids: list[str]
    by_debate_column: bool
    language: str | None
    country: str | None
    personal: PersonalColumns


def read_contributions(
    path: str | Path,
    *,
    pseudonymiser_for: Callable[[str], Pseudonymiser],
    options: ContributionsOptions | None = None,
) -> list[DebateBundle]:
    """Read a contributions file into one :class:`DebateBundle` per debate, each streamed in chunks.

    Either ``options.debate_id`` names the debate of every row, or the file has a ``debate`` column (then
    the file is read once to list the debates and once per debate; votes need a single debate).
    Unmapped columns that hold names, e-mail addresses or phone numbers (see
    :mod:`dembias.ingest.personal`) are pseudonymised (default), dropped or kept as
    ``options.personal_data`` says; the ingest summary lists them under ``personal_data``.
    """
    options = options or ContributionsOptions()
    source = _open_source(Path(path), options)
    return [_debate_bundle(source, did, pseudonymiser_for(did), options) for did in source.debate_ids]


def _open_source(path: Path, options: ContributionsOptions) -> _Source:
    """Check the options and the file (format, header, mapping) and list its debates."""
    personal = PersonalColumns(action=check_action(options.personal_data))
    country = normalise_optional_country(options.country)
    language = normalise_optional_language(options.language)
    require_regular_file(path)
    fmt = detect_format(path, options.fmt)
    header, chunks = header_and_chunks(path, fmt, options.encoding, options.chunk_rows)
    mapping = resolve_columns(path, header, options.columns)
    if options.debate_id is None and "debate" not in mapping:
        raise IngestError(path, "no debate column; pass --debate ID or map a debate column", field="debate")
    debate_ids = (
        [options.debate_id] if options.debate_id is not None else _debate_ids_in(path, chunks, mapping["debate"])
    )
    if options.votes_path is not None and len(debate_ids) != 1:
        raise IngestError(options.votes_path, "a votes file goes with a single debate; split the contributions file")
    return _Source(
        path=path,
        header=header,
        chunks=chunks,
        mapping=mapping,
        extra_columns=[c for c in header if c not in mapping.values()],
        debate_ids=debate_ids,
        by_debate_column=options.debate_id is None,
        language=language,
        country=country,
        personal=personal,
    )


def _debate_bundle(source: _Source, did: str, pseud: Pseudonymiser, options: ContributionsOptions) -> DebateBundle:
    """The bundle of debate ``did``: its record, its contributions and votes (streamed when stored)."""
    record = DebateRecord(
        debate_id=did,
        title=options.title if options.title and len(source.debate_ids) == 1 else did,
        platform=options.platform,
        country=source.country,
        language=source.language,
        licence=options.licence,
        attribution=options.attribution,
        source_path=str(source.path),
    )
    votes_path = options.votes_path
    votes = (
        _vote_chunks(Path(votes_path), options.encoding, pseud, options.chunk_rows) if votes_path is not None else ()
    )
    personal = source.personal
    return DebateBundle(
        debate=record,
        contributions=_contribution_chunks(source, did, pseud),
        votes=votes,
        contributions_source=str(source.path),
        votes_source=str(votes_path) if votes_path is not None else None,
        id_field=source.mapping["id"],
        vote_id_field="contribution_id",
        report=lambda: {"personal_data": personal.summary()} if personal.summary() else {},
    )


def _contribution_chunks(source: _Source, did: str, pseud: Pseudonymiser) -> Iterator[pd.DataFrame]:
    """The contributions of debate ``did``, chunk by chunk, normalised to the corpus's columns."""
    for chunk in source.chunks():
        if source.by_debate_column:
            chunk = chunk[chunk[source.mapping["debate"]].str.strip() == did]
            if chunk.empty:
                continue
        yield _normalise(source, chunk, pseud)


def _normalise(source: _Source, chunk: pd.DataFrame, pseud: Pseudonymiser) -> pd.DataFrame:
    """One chunk of the file as rows of the contributions table (checked; ``_row`` kept for errors)."""
    path, mapping = source.path, source.mapping
    chunk = chunk.reset_index(drop=True)
    ids = _contribution_ids(path, chunk, mapping["id"])
    texts = require_text(path, chunk, mapping["text"])
    langs = _languages(source, chunk, texts)
    created = (
        parse_timestamps(path, chunk, mapping["created_at"])
        if "created_at" in mapping
        else pd.Series(pd.NaT, index=chunk.index, dtype="datetime64[us]")
    )
    chunk, metadata = _metadata(source, chunk, pseud)
    return pd.DataFrame(
        {
            "contribution_id": ids,
            "author_pid": pseud.series(chunk[mapping["author"]].str.strip()) if "author" in mapping else None,
            "text": texts,
            "language": langs,
            "country": _checked_codes(
                path,
                chunk,
                mapping.get("country", "country"),
                _optional_text(chunk, mapping, "country", source.country),
                normalise_country,
            ),
            "created_at": created,
            "n_agree": _counts(path, chunk, mapping, "agree"),
            "n_disagree": _counts(path, chunk, mapping, "disagree"),
            "n_pass": _counts(path, chunk, mapping, "pass"),
            "moderation": np.ones(len(chunk), dtype=np.int16),
            "is_rejected": np.zeros(len(chunk), dtype=bool),
            "metadata": metadata,
            "_row": chunk["_row"],
        }
    )


def _contribution_ids(path: Path, chunk: pd.DataFrame, column: str) -> pd.Series:
    """The ids stripped; an empty one is an error naming its row."""
    ids = chunk[column].str.strip()
    if (ids == "").any():
        first = (ids == "").idxmax()
        raise IngestError(path, "empty contribution id", row=int(chunk.loc[first, "_row"]), field=column)
    return ids


def _optional_text(chunk: pd.DataFrame, mapping: Mapping[str, str], name: str, default: str | None) -> pd.Series:
    """A mapped text field stripped, blank values (or the whole column when unmapped) set to ``default``."""
    if name in mapping:
        values = chunk[mapping[name]].str.strip()
        return values.where(values != "", default)
    return pd.Series([default] * len(chunk), dtype=object)


def _counts(path: Path, chunk: pd.DataFrame, mapping: Mapping[str, str], name: str) -> pd.Series:
    """A mapped vote count as whole numbers >= 0 (missing when unmapped)."""
    if name in mapping:
        return parse_int_column(path, chunk, mapping[name], minimum=0)
    return pd.Series(pd.array([None] * len(chunk), dtype="Int64"))


def _languages(source: _Source, chunk: pd.DataFrame, texts: pd.Series) -> pd.Series:
    """Each contribution's language: its column (checked), else the option, else detected from the text."""
    mapping = source.mapping
    if "language" in mapping:
        langs = _checked_codes(
            source.path,
            chunk,
            mapping["language"],
            _optional_text(chunk, mapping, "language", source.language),
            normalise_language,
        )
        missing = langs.isna()
        if missing.any():
            langs[missing] = detect_languages(texts[missing])
        return langs
    if source.language:
        return pd.Series([source.language] * len(chunk), dtype=object)
    return pd.Series(detect_languages(texts), dtype=object)


def _metadata(source: _Source, chunk: pd.DataFrame, pseud: Pseudonymiser) -> tuple[pd.DataFrame, list[str | None]]:
    """The unmapped columns as one JSON object a row (blank values left out), after personal data is
    pseudonymised, dropped or kept; and the chunk as that left it."""
    extra_columns = source.extra_columns
    if extra_columns:
        chunk, extra_columns = source.personal.apply(chunk, extra_columns, pseud)
    if not extra_columns:
        return chunk, [None] * len(chunk)
    records = chunk[extra_columns].to_dict("records")
    return chunk, [json.dumps({k: v for k, v in r.items() if v != ""}, ensure_ascii=False) for r in records]


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
