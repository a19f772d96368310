"""What every reader shares: decoding, CSV reading with row numbers, validation, and storing a debate.

Readers turn a source into a :class:`DebateBundle` (plain DataFrames, votes as a stream of chunks) and
:func:`store_debate` writes it inside a :func:`dembias.workspace.store.corpus_writer` transaction, so a reader
that fails at any point leaves the workspace unchanged.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import math
import os
import re
import stat
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import numpy as np
import pandas as pd

from dembias.errors import IngestError
from dembias.workspace.store import insert_frame

VOTE_VALUES = frozenset({-1, 0, 1})
T = TypeVar("T")
CHUNK_ROWS = 200_000
#: Largest magnitude of a stored whole number (the corpus stores counts and groups as 32-bit INTEGER).
INT_LIMIT = 2**31 - 1

CONTRIBUTION_COLUMNS = (
    "debate_id",
    "contribution_id",
    "author_pid",
    "text",
    "language",
    "country",
    "created_at",
    "n_agree",
    "n_disagree",
    "n_pass",
    "moderation",
    "is_rejected",
    "metadata",
)

SQL_DEBATE_EXISTS = "SELECT count(*) FROM debates WHERE debate_id = ?"
SQL_DELETE_DEBATE = (
    "DELETE FROM citations WHERE output_id IN (SELECT output_id FROM outputs WHERE debate_id = $1)",
    "DELETE FROM output_units WHERE output_id IN (SELECT output_id FROM outputs WHERE debate_id = $1)",
    "DELETE FROM outputs WHERE debate_id = $1",
    "DELETE FROM votes WHERE debate_id = $1",
    "DELETE FROM participants WHERE debate_id = $1",
    "DELETE FROM contributions WHERE debate_id = $1",
    "DELETE FROM debates WHERE debate_id = $1",
)
SQL_CREATE_VOTES_STAGING = """
CREATE TABLE {staging} (
    contribution_id VARCHAR, participant_pid VARCHAR, vote TINYINT, voted_at TIMESTAMP, row_number BIGINT
)"""
SQL_DELETE_VOTES_TO_MISSING_CONTRIBUTIONS = """
DELETE FROM {staging} WHERE contribution_id NOT IN (SELECT contribution_id FROM contributions WHERE debate_id = ?)"""
SQL_VOTES_TO_MISSING_CONTRIBUTIONS = """
SELECT s.row_number, s.contribution_id FROM {staging} s
ANTI JOIN (SELECT contribution_id FROM contributions WHERE debate_id = ?) c USING (contribution_id)
ORDER BY s.row_number LIMIT 1"""
SQL_INSERT_LAST_VOTES = """
INSERT INTO votes (debate_id, contribution_id, participant_pid, vote, voted_at)
SELECT ?, contribution_id, participant_pid, vote, voted_at FROM {staging}
QUALIFY row_number() OVER (
    PARTITION BY contribution_id, participant_pid ORDER BY voted_at DESC NULLS LAST, row_number DESC
) = 1"""
SQL_FILL_PASS_COUNTS = """
UPDATE contributions SET n_pass = v.n_pass
FROM (SELECT contribution_id, count(*) FILTER (WHERE vote = 0) AS n_pass
      FROM votes WHERE debate_id = $1 GROUP BY contribution_id) v
WHERE contributions.debate_id = $1 AND contributions.contribution_id = v.contribution_id
  AND contributions.n_pass IS NULL"""
SQL_ADD_VOTERS_AS_PARTICIPANTS = """
INSERT INTO participants (debate_id, participant_pid, published_group)
SELECT DISTINCT $1, participant_pid, NULL FROM votes WHERE debate_id = $1
  AND participant_pid NOT IN (SELECT participant_pid FROM participants WHERE debate_id = $1)"""


@dataclass
class DebateRecord:
    """One row of the ``debates`` table."""

    debate_id: str
    title: str
    platform: str
    question: str | None = None
    source_url: str | None = None
    country: str | None = None
    language: str | None = None
    licence: str | None = None
    attribution: str | None = None
    source_path: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """The record as a one-row frame ready for :func:`dembias.workspace.store.insert_frame`."""
        row = asdict(self)
        row["extra"] = json.dumps(row["extra"], ensure_ascii=False, sort_keys=True)
        row["ingested_at"] = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        return pd.DataFrame([row])


@dataclass
class DebateBundle:
    """A debate as read from a source, before storage.

    ``votes`` yields frames with columns contribution_id, participant_pid, vote, voted_at, row_number
    (the source row, for error messages); several votes of one voter on one comment may appear, and
    the last one (by time, then by row) wins when stored.
    """

    debate: DebateRecord
    contributions: pd.DataFrame | Iterable[pd.DataFrame]
    participants: pd.DataFrame | None = None
    votes: Iterable[pd.DataFrame] = ()
    contributions_source: str | None = None
    votes_source: str | None = None
    id_field: str = "comment-id"
    vote_id_field: str = "comment-id"
    #: rows the reader skipped on purpose, by reason (reported in the ingest summary as skipped_<reason>)
    skipped: dict[str, int] = field(default_factory=dict)
    #: ids of contributions the reader skipped: votes on them are skipped and counted, never an error
    skipped_ids: frozenset[str] = frozenset()
    #: "error" (a vote on a contribution the debate lacks is refused) or "skip" (skipped and counted:
    #: Polis exports publish votes on comments they do not publish)
    votes_on_unknown: str = "error"
    #: called once the contributions are stored: more lines for the ingest summary (personal data...)
    report: Callable[[], dict[str, Any]] | None = None


# --------------------------------------------------------------------------------------------------
# decoding and CSV


def is_present(path: Path) -> bool:
    """Whether ``path`` exists, counting a dangling symlink as present (so that it is refused, not skipped)."""
    return path.exists() or path.is_symlink()


def require_regular_file(path: Path) -> None:
    """Refuse anything but a regular file (after symlinks): a directory, a FIFO (whose reader would wait,
    holding the writer lock, forever), a socket or a device, and a symlink to nothing."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError as exc:
        problem = "a symlink to a missing file" if Path(path).is_symlink() else "no such file"
        raise IngestError(path, problem) from exc
    except OSError as exc:
        raise IngestError(path, f"cannot be read: {exc.strerror}") from exc
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "a FIFO, socket or device"
        raise IngestError(path, f"{kind}, not a regular file")


def sniff_encoding(path: Path, explicit: str | None = None) -> str:
    """The encoding to read ``path`` with: ``explicit`` if given, else from a BOM, else UTF-8.

    Non-UTF-8 files without a BOM are not guessed (a wrong guess silently corrupts text): they fail
    :func:`check_decodes` with a hint to pass ``--encoding``.
    """
    require_regular_file(path)
    if explicit:
        try:
            return codecs.lookup(explicit).name
        except LookupError as exc:
            raise IngestError(path, f"unknown encoding {explicit!r}") from exc
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    return "utf-8"


def check_decodes(path: Path, encoding: str, *, chunk_bytes: int = 1 << 22) -> None:
    """Decode the whole file once, streaming; raise :class:`IngestError` naming the line of bad bytes."""
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    line = 1
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(chunk_bytes)
            final = not chunk
            try:
                decoder.decode(chunk, final=final)
            except UnicodeDecodeError as exc:
                bad_at = exc.start
                line += chunk[:bad_at].count(b"\n")
                hint = "pass --encoding, e.g. --encoding cp1252 or --encoding latin-1"
                raise IngestError(
                    path,
                    f"bytes {chunk[bad_at : bad_at + 4]!r} cannot be decoded as {encoding} (text line {line})",
                    hint=hint,
                ) from exc
            except UnicodeError as exc:  # e.g. "UTF-16 stream does not start with BOM"
                raise IngestError(
                    path,
                    f"cannot be decoded as {encoding}: {exc}",
                    hint="for UTF-16 without a BOM pass --encoding utf-16-le or --encoding utf-16-be",
                ) from exc
            if final:
                return
            line += chunk.count(b"\n")


def iter_jsonl_objects(path: Path, encoding: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line of a JSONL file; a bad line raises naming its row."""
    with open(path, encoding=encoding) as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise IngestError(path, f"not valid JSON: {exc.msg}", row=line_no) from exc
            except RecursionError as exc:
                raise IngestError(path, "not valid JSON: nested too deeply", row=line_no) from exc
            if not isinstance(obj, dict):
                raise IngestError(path, "each line must be a JSON object", row=line_no)
            if _SURROGATE_ESCAPE.search(line):
                _refuse_lone_surrogates(path, line_no, obj)
            yield line_no, obj


#: A JSON escape of a UTF-16 surrogate: paired ones are fine, a lone one is no character at all.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _refuse_lone_surrogates(path: Path, line_no: int, obj: dict[str, Any]) -> None:
    for key, value in obj.items():
        for text in (key, value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)):
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise IngestError(
                    path,
                    "a lone UTF-16 surrogate escape (\\ud800-\\udfff) is not a character",
                    row=line_no,
                    field=str(key),
                ) from exc


def read_jsonl_records(
    path: str | Path,
    *,
    encoding: str | None,
    parse: Callable[[Path, int, dict[str, Any]], T],
    id_of: Callable[[T], str],
    id_field: str,
    what: str,
) -> list[T]:
    """Parse every line of a JSONL file with ``parse(path, line, obj)``; refuse duplicate ids and empty files.

    ``what`` names the records in messages ("outputs", "interactions"); ``id_field`` is the field named
    when an id repeats.
    """
    path = Path(path)
    if not path.exists():
        raise IngestError(path, "no such file")
    enc = sniff_encoding(path, encoding)
    check_decodes(path, enc)
    records: list[T] = []
    seen: dict[str, int] = {}
    for line_no, obj in iter_jsonl_objects(path, enc):
        record = parse(path, line_no, obj)
        record_id = id_of(record)
        if record_id in seen:
            raise IngestError(
                path,
                f"duplicate {id_field.replace('_', ' ')} {record_id!r} (first on row {seen[record_id]})",
                row=line_no,
                field=id_field,
            )
        seen[record_id] = line_no
        records.append(record)
    if not records:
        raise IngestError(path, f"the file holds no {what}")
    return records


def sniff_delimiter(path: Path, encoding: str) -> str:
    """The delimiter of a CSV file among comma, semicolon, tab and pipe (comma when unsure)."""
    with open(path, encoding=encoding, newline="") as handle:
        sample = handle.read(65536)
    # the header line decides when one candidate is clearly the most frequent there: sniffing the whole
    # sample misreads files whose first record holds a long quoted text full of punctuation
    header_line = sample.split("\n", 1)[0]
    counts = sorted(((header_line.count(d), d) for d in ",;\t|"), reverse=True)
    if counts[0][0] > 0 and counts[0][0] > counts[1][0]:
        return counts[0][1]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_header(path: Path, encoding: str, delimiter: str) -> list[str]:
    """The header row of a CSV file; refuses empty files and duplicated column names."""
    with open(path, encoding=encoding, newline="") as handle:
        try:
            header = next(csv.reader(handle, delimiter=delimiter))
        except StopIteration:
            raise IngestError(path, "the file is empty (no header row)") from None
        except csv.Error as exc:
            raise IngestError(path, f"unreadable header: {exc}", row=1) from exc
    header = [h.strip() for h in header]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise IngestError(path, "duplicated column name in the header", row=1, field=name)
        seen.add(name)
    return header


def require_columns(path: Path, header: Sequence[str], required: Iterable[str]) -> None:
    """Raise when a required column is missing from ``header``."""
    for name in required:
        if name not in header:
            raise IngestError(path, f"missing column; the header has {list(header)[:12]}", row=1, field=name)


def read_csv_chunks(
    path: Path,
    *,
    encoding: str,
    delimiter: str = ",",
    usecols: Sequence[str] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pd.DataFrame]:
    """Stream a CSV file as string frames with a ``_row`` column (the row number, header = row 1).

    A ragged row (more or fewer fields than the header) is refused first (:func:`check_rectangular`):
    pandas would take one extra field on the first row as an index and shift every column by one, and
    pad a short row with empty values, both silently.
    """
    check_rectangular(path, encoding=encoding, delimiter=delimiter)
    try:
        reader = pd.read_csv(
            path,
            encoding=encoding,
            sep=delimiter,
            dtype=str,
            keep_default_na=False,
            usecols=list(usecols) if usecols is not None else None,
            chunksize=chunk_rows,
            engine="c",
            index_col=False,
        )
        start = 2
        for chunk in reader:
            chunk.columns = [str(c).strip() for c in chunk.columns]
            chunk["_row"] = np.arange(start, start + len(chunk), dtype=np.int64)
            start += len(chunk)
            yield chunk
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        raise IngestError(path, f"malformed CSV: {exc}") from exc


def check_rectangular(path: Path, *, encoding: str, delimiter: str = ",") -> None:
    """Raise :class:`IngestError` naming the first row whose number of fields differs from the header's.

    One streaming pass with the csv module (about 0.5 s per 50 MB here); blank lines are skipped, as
    pandas skips them, so row numbers match those of :func:`read_csv_chunks` (header = row 1).
    """
    previous = csv.field_size_limit(sys.maxsize)  # the csv module's default refuses fields over 128 KiB
    try:
        with open(path, encoding=encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                return
            width, row_no = len(header), 1
            for fields in reader:
                if not fields:
                    continue
                row_no += 1
                if len(fields) > width:
                    raise IngestError(
                        path,
                        f"{len(fields)} fields where the header has {width}: extra value {fields[width][:40]!r}",
                        row=row_no,
                        hint="quote fields that hold the delimiter",
                    )
                if len(fields) < width:
                    raise IngestError(
                        path,
                        f"{len(fields)} fields where the header has {width}: this field is missing",
                        row=row_no,
                        field=header[len(fields)].strip(),
                    )
    except csv.Error as exc:
        raise IngestError(path, f"malformed CSV: {exc}") from exc
    finally:
        csv.field_size_limit(previous)


# --------------------------------------------------------------------------------------------------
# field validation


def parse_int_column(
    path: Path,
    frame: pd.DataFrame,
    column: str,
    *,
    allowed: frozenset[int] | None = None,
    minimum: int | None = None,
) -> pd.Series:
    """Parse a string column into nullable integers; blank is missing; anything else non-integral raises."""
    raw = frame[column].astype(str).str.strip()
    numbers = pd.to_numeric(raw.where(raw != "", None), errors="coerce")
    bad = (raw != "") & (numbers.isna() | ~np.isfinite(numbers.fillna(0)) | (numbers.fillna(0) % 1 != 0))
    if allowed is not None:
        bad |= numbers.notna() & ~numbers.isin(list(allowed))
    if minimum is not None:
        bad |= numbers.notna() & (numbers < minimum)
    bad |= numbers.notna() & (numbers.abs() > INT_LIMIT)
    if bad.any():
        first = bad.idxmax()
        expected = f"one of {sorted(allowed)}" if allowed is not None else "a whole number"
        if minimum is not None:
            expected += f" >= {minimum}"
        if allowed is None:
            expected += f" of at most {INT_LIMIT}"
        raise IngestError(
            path,
            f"{raw[first]!r} is not {expected}",
            row=int(frame.loc[first, "_row"]),
            field=column,
        )
    return numbers.astype("Int64")


#: Longest text accepted by default (characters); ``$DEMBIAS_MAX_TEXT_CHARS`` changes it. A 10 MB
#: contribution was accepted before, and mapping its debate then took 22 GiB and was killed.
DEFAULT_MAX_TEXT_CHARS = 100_000


def max_text_chars() -> int:
    """The longest contribution text accepted at ingest: ``$DEMBIAS_MAX_TEXT_CHARS``, else 100,000."""
    raw = os.environ.get("DEMBIAS_MAX_TEXT_CHARS", "").strip()
    if not raw:
        return DEFAULT_MAX_TEXT_CHARS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise IngestError("$DEMBIAS_MAX_TEXT_CHARS", f"{raw!r} is not a whole number of characters >= 1")
    return value


def require_text(path: Path, frame: pd.DataFrame, column: str, *, what: str = "text") -> pd.Series:
    """The column as strings; raises on the first empty value and on the first longer than
    :func:`max_text_chars`."""
    values = frame[column].astype(str)
    empty = values.str.strip() == ""
    if empty.any():
        first = empty.idxmax()
        raise IngestError(path, f"empty {what}", row=int(frame.loc[first, "_row"]), field=column)
    limit = max_text_chars()
    lengths = values.str.len()
    if (lengths > limit).any():
        first = (lengths > limit).idxmax()
        raise IngestError(
            path,
            f"{what} of {int(lengths[first]):,} characters, longer than the limit of {limit:,}",
            row=int(frame.loc[first, "_row"]),
            field=column,
            hint="split it, or raise the limit with DEMBIAS_MAX_TEXT_CHARS",
        )
    return values


def require_unique(path: Path, frame: pd.DataFrame, column: str) -> None:
    """Raise on the first repeated value of ``column``."""
    duplicated = frame[column].duplicated()
    if duplicated.any():
        first = duplicated.idxmax()
        raise IngestError(
            path,
            f"duplicate id {frame.loc[first, column]!r}",
            row=int(frame.loc[first, "_row"]),
            field=column,
        )


def parse_timestamps(path: Path, frame: pd.DataFrame, column: str, *, unit: str | None = None) -> pd.Series:
    """Parse timestamps (epoch numbers with ``unit``, else ISO 8601); blank is missing."""
    raw = frame[column].astype(str).str.strip()
    present = raw != ""
    if unit:
        numbers = pd.to_numeric(raw.where(present, None), errors="coerce")
        parsed = pd.to_datetime(numbers, unit=unit, errors="coerce")
    else:
        parsed = pd.to_datetime(raw.where(present, None), errors="coerce", utc=True, format="mixed")
        parsed = parsed.dt.tz_localize(None)
    bad = present & parsed.isna()
    if bad.any():
        first = bad.idxmax()
        raise IngestError(path, f"{raw[first]!r} is not a timestamp", row=int(frame.loc[first, "_row"]), field=column)
    return parsed.astype("datetime64[us]")


def json_or_none(value: Mapping[str, Any] | None) -> str | None:
    """Serialise a metadata mapping to JSON text (None when empty); NaN and inf become null."""
    if not value:
        return None
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in value.items()}
    return json.dumps(clean, ensure_ascii=False, sort_keys=True, default=str)


def empty_contributions() -> pd.DataFrame:
    """A contributions frame with every column and no rows."""
    return pd.DataFrame({c: pd.Series(dtype="object") for c in CONTRIBUTION_COLUMNS})


# --------------------------------------------------------------------------------------------------
# storing


def debate_exists(con: duckdb.DuckDBPyConnection, debate_id: str) -> bool:
    """Whether ``debate_id`` is already in the corpus."""
    return con.execute(SQL_DEBATE_EXISTS, [debate_id]).fetchone()[0] > 0


def delete_debate(con: duckdb.DuckDBPyConnection, debate_id: str) -> None:
    """Remove a debate and everything that hangs on it (inside the caller's transaction)."""
    for sql in SQL_DELETE_DEBATE:
        con.execute(sql, [debate_id])


def store_debate(
    con: duckdb.DuckDBPyConnection, bundle: DebateBundle, *, replace: bool = False, source: str | Path = ""
) -> dict[str, Any]:
    """Write a debate bundle; returns counts. Votes are deduplicated (last vote wins) in SQL.

    ``bundle.contributions`` is one frame or an iterable of frames (streamed in chunks). Raises
    :class:`IngestError` when the debate exists and ``replace`` is false, when the source has no
    contribution, when a contribution id repeats, or when a vote names a contribution that the debate
    does not have (unless ``bundle.votes_on_unknown`` is "skip": then such votes are skipped and
    counted). Rows skipped on purpose appear in the counts as ``skipped_<reason>``.
    """
    debate_id = bundle.debate.debate_id
    _check_debate_id(debate_id, source)
    _make_room_for_debate(con, debate_id, replace=replace, source=source)
    insert_frame(con, "debates", bundle.debate.to_frame())
    n_contributions = _store_contributions(con, bundle, source=source)
    if bundle.participants is not None and len(bundle.participants):
        participants = bundle.participants.copy()
        participants["debate_id"] = debate_id
        insert_frame(con, "participants", participants[["debate_id", "participant_pid", "published_group"]])
    n_raw, skipped = _store_votes(con, bundle, source=source)
    n_votes = con.execute("SELECT count(*) FROM votes WHERE debate_id = ?", [debate_id]).fetchone()[0]
    counts: dict[str, Any] = {"contributions": n_contributions, "vote_rows": n_raw, "votes": int(n_votes)}
    counts.update({f"skipped_{reason}": n for reason, n in skipped.items()})
    if bundle.report is not None:
        counts.update(bundle.report())
    return counts


def _check_debate_id(debate_id: object, source: str | Path) -> None:
    if (
        not isinstance(debate_id, str)
        or not debate_id.strip()
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in debate_id)
    ):
        raise IngestError(
            source or "the debate",
            f"debate id {debate_id!r}: give a non-blank id without control characters",
            field="debate_id",
        )


def _make_room_for_debate(con: duckdb.DuckDBPyConnection, debate_id: str, *, replace: bool, source: str | Path) -> None:
    """A debate that exists is an error, or with ``replace`` it is deleted first."""
    if not debate_exists(con, debate_id):
        return
    if not replace:
        raise IngestError(
            source or debate_id,
            f"debate {debate_id!r} already exists in the workspace",
            field="debate_id",
            hint="pass --replace to replace it",
        )
    delete_debate(con, debate_id)


def _store_contributions(con: duckdb.DuckDBPyConnection, bundle: DebateBundle, *, source: str | Path) -> int:
    """Stream the contributions through a staging table: duplicate ids and an empty source are errors."""
    debate_id = bundle.debate.debate_id
    chunks = [bundle.contributions] if isinstance(bundle.contributions, pd.DataFrame) else bundle.contributions
    staging = f"contrib_staging_{uuid.uuid4().hex[:8]}"
    con.execute(f"CREATE TABLE {staging} AS SELECT * EXCLUDE (debate_id), 0::BIGINT AS _row FROM contributions LIMIT 0")
    n_contributions = 0
    for chunk in chunks:
        frame = chunk.copy()
        if "_row" not in frame.columns:
            frame["_row"] = np.arange(n_contributions + 2, n_contributions + 2 + len(frame), dtype=np.int64)
        n_contributions += insert_frame(con, staging, frame[[*CONTRIBUTION_COLUMNS[1:], "_row"]])
    duplicate = con.execute(
        f"SELECT contribution_id, _row FROM {staging} QUALIFY row_number() OVER "
        f"(PARTITION BY contribution_id ORDER BY _row) = 2 ORDER BY _row LIMIT 1"
    ).fetchone()
    if duplicate:
        raise IngestError(
            bundle.contributions_source or source,
            f"duplicate contribution id {duplicate[0]!r}",
            row=int(duplicate[1]),
            field=bundle.id_field,
        )
    if n_contributions == 0:
        raise IngestError(
            bundle.contributions_source or source,
            f"no contributions: the file has no rows for debate {debate_id!r}",
            hint="nothing was stored",
        )
    con.execute(f"INSERT INTO contributions SELECT ?, * EXCLUDE (_row) FROM {staging}", [debate_id])
    con.execute(f"DROP TABLE {staging}")
    return n_contributions


def _store_votes(
    con: duckdb.DuckDBPyConnection, bundle: DebateBundle, *, source: str | Path
) -> tuple[int, dict[str, int]]:
    """Stream the votes through a staging table, keep each voter's last vote; raw rows and skipped counts."""
    debate_id = bundle.debate.debate_id
    staging = f"votes_staging_{uuid.uuid4().hex[:8]}"
    con.execute(SQL_CREATE_VOTES_STAGING.format(staging=staging))
    n_raw = 0
    for chunk in bundle.votes:
        n_raw += insert_frame(
            con, staging, chunk[["contribution_id", "participant_pid", "vote", "voted_at", "row_number"]]
        )
    skipped = {k: v for k, v in bundle.skipped.items() if v}
    if bundle.votes_on_unknown == "skip":
        skipped.update(_skip_votes_on_unknown(con, bundle, staging))
    missing = con.execute(SQL_VOTES_TO_MISSING_CONTRIBUTIONS.format(staging=staging), [debate_id]).fetchone()
    if missing:
        raise IngestError(
            bundle.votes_source or source,
            f"vote for contribution {missing[1]!r}, which the debate does not have",
            row=int(missing[0]),
            field=bundle.vote_id_field,
        )
    con.execute(SQL_INSERT_LAST_VOTES.format(staging=staging), [debate_id])
    con.execute(f"DROP TABLE {staging}")
    con.execute(SQL_FILL_PASS_COUNTS, [debate_id])
    con.execute(SQL_ADD_VOTERS_AS_PARTICIPANTS, [debate_id])
    return n_raw, skipped


def _skip_votes_on_unknown(con: duckdb.DuckDBPyConnection, bundle: DebateBundle, staging: str) -> dict[str, int]:
    """Delete the staged votes on contributions the debate does not have; how many, by reason."""
    debate_id = bundle.debate.debate_id
    on_skipped, on_unknown = con.execute(
        f"SELECT count(*) FILTER (WHERE contribution_id IN (SELECT unnest(?::VARCHAR[]))), "
        f"count(*) FILTER (WHERE contribution_id NOT IN (SELECT unnest(?::VARCHAR[]))) "
        f"FROM {staging} WHERE contribution_id NOT IN "
        f"(SELECT contribution_id FROM contributions WHERE debate_id = ?)",
        [sorted(bundle.skipped_ids), sorted(bundle.skipped_ids), debate_id],
    ).fetchone()
    con.execute(SQL_DELETE_VOTES_TO_MISSING_CONTRIBUTIONS.format(staging=staging), [debate_id])
    skipped = {}
    if on_skipped:
        skipped["votes_on_skipped_comments"] = int(on_skipped)
    if on_unknown:
        skipped["votes_on_unknown_comments"] = int(on_unknown)
    return skipped


def read_text_file(path: Path, encoding: str) -> str:
    """The whole file as text, decoded strictly (after :func:`check_decodes`)."""
    with open(path, encoding=encoding, newline="") as handle:
        return handle.read()


def csv_rows(text: str, delimiter: str = ",", *, path: str | Path = "") -> list[list[str]]:
    """Parse small CSV text into rows; malformed CSV (e.g. a field over the csv module's limit) raises
    :class:`IngestError` naming ``path``."""
    try:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise IngestError(path, f"malformed CSV: {exc}") from exc


def require_ids(path: Path, frame: pd.DataFrame, column: str, *, what: str = "id") -> pd.Series:
    """The column stripped; raises on the first empty value (ids that must be present, e.g. voters)."""
    values = frame[column].astype(str).str.strip()
    empty = values == ""
    if empty.any():
        first = empty.idxmax()
        raise IngestError(path, f"empty {what}", row=int(frame.loc[first, "_row"]), field=column)
    return values
