"""Fuzzing every reader: each case is ingested exactly (text round-trips) or refused with IngestError.

A case is a set of input files plus the call that ingests them. Two kinds of cases per reader:

* **valid** cases, built from structured data (hostile text: right-to-left, zero-width, combining
  characters, emoji, quotes, delimiters, line breaks, a 1 MB field; UTF-8, UTF-8 and UTF-16 with a
  BOM; several quoting styles and delimiters). They must be ingested, and every text must read back
  exactly, byte for byte;
* **hostile** cases: a valid case damaged (random bytes, truncation, wrong or mixed encodings,
  duplicated headers, NaN / infinite / huge vote counts, wrong JSON types, empty files). They may be
  ingested or refused, but a refusal must be an :class:`IngestError` that names one of the case's
  files (and the row and field where the damage makes them certain), and must leave every file of the
  workspace as it was.

``benchmarks/fuzz_readers.py --cases 10000`` runs the same cases for much longer.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import math
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dembias.errors import IngestError
from dembias.ingest import ingest_contributions, ingest_outputs, ingest_polis, ingest_sensemaker
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from tests.helpers import polis_folder, tree_digest

BASE_DEBATE = "base"
BASE_IDS = ("0", "1", "2")  # contribution ids of the base debate (tests.helpers.POLIS_COMMENTS)
PSEUDONYM = re.compile(r"^p_[0-9a-f]{20}$")
BIG_FIELD = ('Zürich 🌍 «ça», "quoted"; a|b\tc\nnew line ‏שלום‎ e\u0301 \u200b' * 20_000)[: 1 << 20]

SPECIAL_TEXTS = (
    "مرحبا بالعالم، نريد المزيد من الحدائق",  # Arabic, right-to-left
    "שלום ‏עולם‎ 2040",  # Hebrew with RLM / LRM marks
    "zero\u200bwidth\u200cjoin\u200dword\ufeffbom",
    "e\u0301le\u0300ve cafe\u0301 n\u0303",  # combining accents
    "👩🏽‍🌾 farmers 🇫🇷🇩🇪 🏳️‍🌈 ❤️",  # emoji with ZWJ sequences and flags
    'He said "no", then; left|right\ttab',
    "line one\nline two\r\nline three\rend",
    "  leading and trailing spaces  ",
    "=cmd|' /C calc'!A0",
    "NaN",
    "null",
    "#not a comment",
    "\u2028separator\u2029paragraph\x85nel",
    "Bu\x00ll\x01\x7f",
    "中文測試，臺灣的優步",
)

# text that is not blank (readers refuse blank texts); any code point except surrogates
any_text = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=30)
texts = st.one_of(
    any_text,
    st.sampled_from(SPECIAL_TEXTS),
    st.lists(st.sampled_from(SPECIAL_TEXTS), min_size=2, max_size=4).map(" ".join),
).filter(lambda t: t.strip() != "")
ids = st.one_of(
    st.integers(0, 10**6).map(str),
    st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=8),
).filter(lambda t: t.strip() != "" and t == t.strip())
counts = st.integers(0, 2**31 - 1)
bad_counts = st.sampled_from(("nan", "NaN", "inf", "-inf", "Infinity", "1e309", "2147483648", "-1", "1.5", "x"))
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16")


# --------------------------------------------------------------------------------------------------
# cases and the oracle


@dataclass(repr=False)
class Case:
    """Input files (name -> bytes), the ingest call, and what must hold afterwards."""

    reader: str
    files: dict[str, bytes]
    call: Callable[[Workspace, Path], object]
    valid: bool
    verify: Callable[[duckdb.DuckDBPyConnection], None] | None = None
    expect_error: tuple[str, int | None, str | None] | None = None  # (file name, row, field)
    note: str = ""

    def __repr__(self) -> str:  # short: a case may hold a 1 MB field
        sizes = {name: len(data) for name, data in self.files.items()}
        heads = {name: data[:300] for name, data in self.files.items()}
        return f"Case({self.reader}, valid={self.valid}, sizes={sizes}, note={self.note!r}, heads={heads})"


def make_base_workspace(root: Path) -> Workspace:
    """A workspace holding the three-comment debate ``base`` (targets for outputs and citations)."""
    ws = Workspace(root / "ws")
    ingest_polis(ws, polis_folder(root / "base-export"), debate_id=BASE_DEBATE, language="en")
    return ws


def run_case(case: Case, base: Workspace, scratch: Path) -> str | None:
    """Run one case on a copy of ``base``; None when it holds, else a description of the failure."""
    work = Path(tempfile.mkdtemp(dir=scratch))
    try:
        ws = Workspace(work / "ws")
        shutil.copytree(base.root, ws.root)
        inputs = work / "in"
        for name, data in case.files.items():
            (inputs / name).parent.mkdir(parents=True, exist_ok=True)
            (inputs / name).write_bytes(data)
        before = tree_digest(ws.root)
        try:
            case.call(ws, inputs)
        except IngestError as err:
            return _check_refusal(case, err, before, tree_digest(ws.root))
        except Exception as exc:  # the very thing fuzzing looks for
            return f"{case.reader}: {type(exc).__name__}: {str(exc)[:300]} ({case.note})"
        if case.expect_error is not None:
            return f"{case.reader}: ingested, expected a refusal naming {case.expect_error} ({case.note})"
        if set(tree_digest(ws.root)) != set(before):
            return f"{case.reader}: ingested but left stray files: {sorted(set(tree_digest(ws.root)) ^ set(before))}"
        con = open_corpus(ws)
        try:
            _check_invariants(con)
            if case.verify is not None:
                case.verify(con)
        except AssertionError as exc:
            return f"{case.reader}: ingested but wrong: {str(exc)[:400]} ({case.note})"
        finally:
            con.close()
        return None
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_refusal(case: Case, err: IngestError, before: dict[str, str], after: dict[str, str]) -> str | None:
    if before != after:
        return f"{case.reader}: refused but the workspace changed: {err}"
    if case.valid:
        return f"{case.reader}: a valid case was refused: {str(err)[:300]} ({case.note})"
    names = {Path(n).name for n in case.files}
    if Path(err.file).name not in names or not str(err).startswith(err.file):
        return f"{case.reader}: the error does not name an input file: {str(err)[:300]}"
    if case.expect_error is not None:
        name, row, field_name = case.expect_error
        if (Path(err.file).name, err.row, err.field) != (name, row, field_name):
            return f"{case.reader}: refused as {str(err)[:200]!r}, expected {case.expect_error} ({case.note})"
    return None


def _check_invariants(con: duckdb.DuckDBPyConnection) -> None:
    """Whatever was ingested, identities are pseudonyms, never raw ids."""
    pids = con.execute(
        "SELECT author_pid FROM contributions WHERE author_pid IS NOT NULL UNION ALL "
        "SELECT participant_pid FROM participants UNION ALL SELECT participant_pid FROM votes"
    ).fetchall()
    bad = [p for (p,) in pids if not PSEUDONYM.match(p)]
    assert not bad, f"identity columns hold non-pseudonyms: {bad[:3]}"


def query(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[tuple]:
    """Rows of a query on the corpus."""
    return con.execute(sql, params).fetchall()


def encode(text: str, encoding: str) -> bytes:
    """``text`` in ``encoding`` (``utf-16`` writes a BOM, ``utf-8-sig`` too)."""
    return text.encode(encoding)


def csv_text(rows: list[list[str]], *, delimiter: str = ",", quoting: int = csv.QUOTE_MINIMAL, eol: str = "\n") -> str:
    """Rows as RFC 4180 CSV. (The csv module would leave a lone ``\r`` unquoted when the line ends
    with ``\n``, which no reader can parse back.)"""

    def cell(value: str) -> str:
        special = any(ch in value for ch in (delimiter, '"', "\r", "\n"))
        numeric = re.fullmatch(r"-?[0-9]+", value) is not None
        if quoting == csv.QUOTE_ALL or special or (quoting == csv.QUOTE_NONNUMERIC and not numeric):
            return '"' + value.replace('"', '""') + '"'
        return value

    return "".join(delimiter.join(cell(v) for v in row) + eol for row in rows)


quotings = st.sampled_from((csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC))
eols = st.sampled_from(("\n", "\r\n"))


# --------------------------------------------------------------------------------------------------
# damage applied to a valid case


@st.composite
def damage(draw: st.DrawFn, data: bytes) -> tuple[bytes, str]:
    """Damaged bytes and what was done."""
    kind = draw(st.sampled_from(("random", "truncate", "insert", "flip", "latin1", "mixed", "nobom16", "empty", "nul")))
    if kind == "random":
        return draw(st.binary(max_size=200)), kind
    if kind == "empty":
        return b"", kind
    if kind == "nobom16":
        return data.decode("utf-8", errors="replace").encode("utf-16-le"), kind
    text = _decode_any(data)
    if kind == "latin1":
        return text.encode("latin-1", errors="replace") + "é".encode("latin-1"), kind
    if kind == "mixed":
        lines = text.split("\n")
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        lines[i] = lines[i] + "é"
        return b"\n".join(
            ln.encode("cp1252" if j == i else "utf-8", errors="replace") for j, ln in enumerate(lines)
        ), kind
    if not data:
        return draw(st.binary(max_size=50)), kind
    at = draw(st.integers(0, len(data)))
    if kind == "truncate":
        return data[:at], kind
    if kind == "insert":
        return data[:at] + draw(st.binary(min_size=1, max_size=8)) + data[at:], kind
    if kind == "nul":
        return data[:at] + b"\x00" + data[at:], kind
    at = min(at, len(data) - 1)
    return data[:at] + bytes([data[at] ^ (1 << draw(st.integers(0, 7)))]) + data[at + 1 :], kind


def _decode_any(data: bytes) -> str:
    encoding = "utf-16" if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return data.decode("latin-1")


# --------------------------------------------------------------------------------------------------
# Polis export folders


@st.composite
def polis_cases(draw: st.DrawFn) -> Case:
    n = draw(st.integers(1, 5))
    comment_ids = draw(st.lists(st.integers(0, 10**5).map(str), min_size=n, max_size=n, unique=True))
    bodies = [draw(texts) for _ in comment_ids]
    if draw(st.integers(0, 30)) == 0:
        bodies[0] = BIG_FIELD
    authors = [str(draw(st.integers(0, 50))) for _ in comment_ids]
    rows = [["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated", "comment-body"]]
    for cid, author, body in zip(comment_ids, authors, bodies, strict=True):
        rows.append(
            [
                str(draw(st.integers(0, 2 * 10**12))),
                "Tue Jan 01 2019",
                cid,
                author,
                str(draw(counts)),
                str(draw(counts)),
                str(draw(st.sampled_from((-1, 0, 1)))),
                body,
            ]
        )
    voters = [str(v) for v in range(draw(st.integers(1, 4)))]
    vote_rows = [["timestamp", "datetime", "comment-id", "voter-id", "vote"]]
    for _ in range(draw(st.integers(0, 8))):
        vote_rows.append(
            [
                str(draw(st.integers(0, 10**9))),
                "x",
                draw(st.sampled_from(comment_ids)),
                draw(st.sampled_from(voters)),
                str(draw(st.sampled_from((-1, 0, 1)))),
            ]
        )
    part_rows = [["participant", "group-id", "n-comments", "n-votes", *comment_ids]]
    for v in voters:
        cells = [draw(st.sampled_from(("", "1", "-1", "0"))) for _ in comment_ids]
        part_rows.append([v, str(draw(st.integers(0, 3))), "0", "0", *cells])
    topic = draw(texts)
    summary = [["topic", topic], ["url", "https://pol.is/x"], ["conversation-description", draw(texts)]]
    quoting, eol = draw(quotings), draw(eols)
    encodings = {
        name: draw(st.sampled_from(ENCODINGS)) for name in ("comments", "votes", "participants-votes", "summary")
    }
    contents = {
        "comments": rows,
        "votes": vote_rows,
        "participants-votes": part_rows,
        "summary": summary,
    }
    with_votes = draw(st.booleans())
    files = {
        f"export/{name}.csv": encode(csv_text(table, quoting=quoting, eol=eol), encodings[name])
        for name, table in contents.items()
        if name != "votes" or with_votes
    }
    expected = dict(zip(comment_ids, bodies, strict=True))
    last: dict[tuple[str, str], tuple[int, int, int]] = {}
    for row_no, (ts, _d, cid, voter, vote) in enumerate(vote_rows[1:], start=2):
        key = (cid, voter)
        last[key] = max(last.get(key, (-1, -1, 0)), (int(ts), row_no, int(vote)))
    expected_votes = {k: v[2] for k, v in last.items()}

    def call(ws: Workspace, inputs: Path) -> object:
        return ingest_polis(ws, inputs / "export", debate_id="fz", language="en")

    def verify(con: duckdb.DuckDBPyConnection) -> None:
        got = dict(query(con, "SELECT contribution_id, text FROM contributions WHERE debate_id = 'fz'", []))
        assert got == expected, "texts differ"
        title = query(con, "SELECT title FROM debates WHERE debate_id = 'fz'", [])[0][0]
        assert title == topic.strip(), f"title {title!r} != {topic.strip()!r}"
        if with_votes:
            n = query(con, "SELECT count(*) FROM votes WHERE debate_id = 'fz'", [])[0][0]
            assert n == len(expected_votes), f"{n} votes stored, {len(expected_votes)} expected"
            got = sorted(query(con, "SELECT contribution_id, vote FROM votes WHERE debate_id = 'fz'", []))
            assert got == sorted((cid, v) for (cid, _voter), v in expected_votes.items()), "the last vote did not win"

    case = Case("polis", files, call, valid=True, verify=verify, note=f"quoting={quoting} enc={encodings}")
    if draw(st.integers(0, 2)) == 0:
        return case
    return _damage_polis(draw, case, rows, encodings)


def _damage_polis(draw: st.DrawFn, case: Case, rows: list[list[str]], encodings: dict[str, str]) -> Case:
    """A hostile version of a valid Polis case."""
    case.valid, case.verify = False, None
    how = draw(st.sampled_from(("bytes", "bad_count", "dup_header", "empty_comments", "delimiter")))
    if how == "bad_count":
        row_i = draw(st.integers(1, len(rows) - 1))
        column = draw(st.sampled_from(("agrees", "disagrees")))
        bad = [list(r) for r in rows]
        bad[row_i][rows[0].index(column)] = draw(bad_counts)
        case.files["export/comments.csv"] = encode(csv_text(bad), encodings["comments"])
        case.expect_error = ("comments.csv", row_i + 1, column)
    elif how == "dup_header":
        bad = [list(r) for r in rows]
        bad[0][1] = draw(st.sampled_from(bad[0][2:]))
        case.files["export/comments.csv"] = encode(csv_text(bad), encodings["comments"])
        case.expect_error = ("comments.csv", 1, bad[0][1])
    elif how == "empty_comments":
        case.files["export/comments.csv"] = b""
        case.expect_error = ("comments.csv", None, None)
    elif how == "delimiter":
        case.files["export/comments.csv"] = encode(csv_text(rows, delimiter=";"), encodings["comments"])
    else:
        name = draw(st.sampled_from(sorted(case.files)))
        case.files[name], what = draw(damage(case.files[name]))
        case.note += f" damaged {name}: {what}"
    case.note += f" {how}"
    return case


# --------------------------------------------------------------------------------------------------
# generic contributions: CSV, JSONL, Parquet


@st.composite
def contribution_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(1, 6))
    row_ids = draw(st.lists(ids, min_size=n, max_size=n, unique=True))
    rows = []
    for rid in row_ids:
        row: dict[str, Any] = {"id": rid, "text": draw(texts)}
        if draw(st.booleans()):
            row["author"] = draw(ids)
        if draw(st.booleans()):
            row["agree"] = draw(counts)
        row["region"] = draw(texts)
        rows.append(row)
    if draw(st.integers(0, 30)) == 0:
        rows[0]["text"] = BIG_FIELD
    return rows


def contributions_verify(rows: list[dict[str, Any]]) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """Texts and counts read back exactly (JSONL too: a key first met on a later line is read, issue 20)."""
    expected = {r["id"]: r["text"] for r in rows}
    agrees = {r["id"]: r.get("agree") for r in rows}

    def verify(con: duckdb.DuckDBPyConnection) -> None:
        got = query(con, "SELECT contribution_id, text, n_agree FROM contributions WHERE debate_id = 'fz'", [])
        assert {cid: text for cid, text, _ in got} == expected, "texts differ"
        assert {cid: n for cid, _, n in got} == agrees, "vote counts differ"

    return verify


def _columns(rows: list[dict[str, Any]]) -> list[str]:
    return [c for c in ("id", "text", "author", "agree", "region") if any(c in r for r in rows)]


@st.composite
def csv_cases(draw: st.DrawFn) -> Case:
    rows = draw(contribution_rows())
    columns = draw(st.permutations(_columns(rows)))
    delimiter = draw(st.sampled_from((",", ";", "\t", "|")))
    quoting, eol, encoding = draw(quotings), draw(eols), draw(st.sampled_from(ENCODINGS))
    table = [list(columns)] + [[str(r.get(c, "")) for c in columns] for r in rows]
    suffix = "tsv" if delimiter == "\t" and draw(st.booleans()) else "csv"
    name = f"c.{suffix}"
    data = encode(csv_text(table, delimiter=delimiter, quoting=quoting, eol=eol), encoding)
    chunk_rows = draw(st.integers(1, 4))
    note = f"delimiter={delimiter!r} quoting={quoting} encoding={encoding}"

    def call(ws: Workspace, inputs: Path) -> object:
        return ingest_contributions(ws, inputs / name, debate_id="fz", language="en", chunk_rows=chunk_rows)

    case = Case("csv", {name: data}, call, valid=True, verify=contributions_verify(rows), note=note)
    if draw(st.integers(0, 2)) == 0:
        return case
    case.valid, case.verify = False, None
    how = draw(st.sampled_from(("bytes", "bad_count", "dup_header")))
    if how == "bad_count" and "agree" in columns:
        row_i = draw(st.integers(1, len(table) - 1))
        table[row_i][columns.index("agree")] = draw(bad_counts)
        case.files[name] = encode(csv_text(table, delimiter=delimiter, quoting=quoting, eol=eol), encoding)
        case.expect_error = (name, row_i + 1, "agree")
    elif how == "dup_header" and len(columns) > 2:
        table[0][0] = table[0][1]
        case.files[name] = encode(csv_text(table, delimiter=delimiter, quoting=quoting, eol=eol), encoding)
    else:
        case.files[name], what = draw(damage(data))
        case.note += f" damaged: {what}"
    case.note += f" {how}"
    return case


@st.composite
def jsonl_cases(draw: st.DrawFn) -> Case:
    rows = draw(contribution_rows())
    encoding, ascii_only = draw(st.sampled_from(ENCODINGS)), draw(st.booleans())
    as_int = draw(st.booleans())

    def dumps(row: dict[str, Any]) -> str:
        out = dict(row)
        if as_int and str(out["id"]).isdecimal() and str(int(out["id"])) == out["id"]:
            out["id"] = int(out["id"])
        return json.dumps(out, ensure_ascii=ascii_only)

    lines = [dumps(r) for r in rows]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(1, len(lines))), "   ")  # blank lines are skipped
    data = encode("\n".join(lines) + "\n", encoding)
    chunk_rows = draw(st.integers(1, 4))

    def call(ws: Workspace, inputs: Path) -> object:
        return ingest_contributions(ws, inputs / "c.jsonl", debate_id="fz", language="en", chunk_rows=chunk_rows)

    verify = contributions_verify(rows)
    case = Case("jsonl", {"c.jsonl": data}, call, valid=True, verify=verify, note=encoding)
    if draw(st.integers(0, 2)) == 0:
        return case
    case.valid, case.verify = False, None
    how = draw(st.sampled_from(("bytes", "bad_value", "bad_count")))
    if how == "bad_value":
        i = draw(st.integers(0, len(rows) - 1))
        broken = dict(rows[i])
        broken[draw(st.sampled_from(("id", "text", "agree", "author", "region")))] = draw(json_values)
        lines = [json.dumps(r) for r in rows]
        lines[i] = json.dumps(broken)
        case.files["c.jsonl"] = encode("\n".join(lines) + "\n", encoding)
    elif how == "bad_count":
        i = draw(st.integers(0, len(rows) - 1))
        lines = [json.dumps(r) for r in rows]
        lines[i] = json.dumps({**rows[i], "agree": draw(st.sampled_from((math.nan, math.inf, -math.inf, 2**40, 1.5)))})
        case.files["c.jsonl"] = encode("\n".join(lines) + "\n", encoding)
        if "agree" in rows[0]:  # the header (first line) decides which fields are read
            case.expect_error = ("c.jsonl", i + 1, "agree")
    else:
        case.files["c.jsonl"], what = draw(damage(data))
        case.note += f" damaged: {what}"
    case.note += f" {how}"
    return case


@st.composite
def parquet_cases(draw: st.DrawFn) -> Case:
    rows = draw(contribution_rows())
    columns = _columns(rows)
    arrays, names = [], []
    for c in columns:
        values = [r.get(c) for r in rows]
        if c == "agree":
            kind = draw(st.sampled_from(("int64", "float64", "int32")))
            if kind == "int32" and any(v is not None and v > 2**31 - 1 for v in values):
                kind = "int64"
            arrays.append(
                pa.array([None if v is None else (float(v) if kind == "float64" else v) for v in values], kind)
            )
        else:
            arrays.append(pa.array(values, draw(st.sampled_from((pa.string(), pa.large_string())))))
        names.append(c)
    buffer = io.BytesIO()
    pq.write_table(pa.table(arrays, names=names), buffer, row_group_size=draw(st.integers(1, 4)))
    data = buffer.getvalue()
    chunk_rows = draw(st.integers(1, 4))

    def call(ws: Workspace, inputs: Path) -> object:
        return ingest_contributions(ws, inputs / "c.parquet", debate_id="fz", language="en", chunk_rows=chunk_rows)

    case = Case("parquet", {"c.parquet": data}, call, valid=True, verify=contributions_verify(rows))
    if draw(st.integers(0, 2)) == 0:
        return case
    case.valid, case.verify = False, None
    how = draw(st.sampled_from(("bytes", "nan_count", "dup_column")))
    buffer = io.BytesIO()
    if how == "nan_count":
        i = draw(st.integers(0, len(rows) - 1))
        values = [float(r.get("agree") or 0) for r in rows]
        values[i] = draw(st.sampled_from((math.inf, -math.inf, 1e12, 0.5, -2.0)))  # NaN is a missing value
        pq.write_table(pa.table([*arrays[:2], pa.array(values)], names=["id", "text", "agree"]), buffer)
        case.files["c.parquet"] = buffer.getvalue()
        case.expect_error = ("c.parquet", i + 1, "agree")
    elif how == "dup_column":
        pq.write_table(pa.table([arrays[0], arrays[1], arrays[1]], names=["id", "text", "text"]), buffer)
        case.files["c.parquet"] = buffer.getvalue()
        case.expect_error = ("c.parquet", 1, "text")
    else:
        case.files["c.parquet"], what = draw(damage(data))
        case.note += f" damaged: {what}"
    case.note += f" {how}"
    return case


# --------------------------------------------------------------------------------------------------
# model outputs JSONL and the Sensemaker report


@st.composite
def output_cases(draw: st.DrawFn) -> Case:
    records = []
    for i in range(draw(st.integers(1, 4))):
        task = draw(st.sampled_from(("summary", "reformulation", "translation")))
        record: dict[str, Any] = {"debate_id": BASE_DEBATE, "task": task, "model": draw(texts), "text": draw(texts)}
        record["output_id"] = f"o{i}"
        if task != "summary":
            record["source_ids"] = draw(st.lists(st.sampled_from(BASE_IDS), min_size=1, max_size=3, unique=True))
        if task == "translation":
            record["target_language"] = draw(st.sampled_from(("fr", "de", "ar", "zh-Hant")))
        if draw(st.booleans()):
            record["units"] = [
                {"text": draw(texts), "citations": draw(st.lists(st.sampled_from(BASE_IDS), max_size=2))}
                for _ in range(draw(st.integers(1, 3)))
            ]
        records.append(record)
    if draw(st.integers(0, 30)) == 0:
        records[0]["text"] = BIG_FIELD
    encoding, ascii_only = draw(st.sampled_from(ENCODINGS)), draw(st.booleans())
    data = encode("".join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in records), encoding)
    expected = {r["output_id"]: r["text"] for r in records}
    expected_units = {r["output_id"]: [u["text"].strip() for u in r["units"]] for r in records if "units" in r}

    def call(ws: Workspace, inputs: Path) -> object:
        return ingest_outputs(ws, inputs / "o.jsonl")

    def verify(con: duckdb.DuckDBPyConnection) -> None:
        assert dict(query(con, "SELECT output_id, text FROM outputs", [])) == expected, "texts differ"
        for oid, units in expected_units.items():
            got = [
                t for (t,) in query(con, "SELECT text FROM output_units WHERE output_id = ? ORDER BY unit_index", [oid])
            ]
            assert got == units, f"units of {oid} differ"

    case = Case("outputs", {"o.jsonl": data}, call, valid=True, verify=verify, note=encoding)
    if draw(st.integers(0, 2)) == 0:
        return case
    case.valid, case.verify = False, None
    if draw(st.booleans()):
        i = draw(st.integers(0, len(records) - 1))
        key = draw(
            st.sampled_from(
                ("debate_id", "task", "model", "text", "source_ids", "units", "params", "output_id", "target_language")
            )
        )
        records[i][key] = draw(json_values)
        case.files["o.jsonl"] = "".join(json.dumps(r) + "\n" for r in records).encode()
        case.note += f" {key}={records[i][key]!r}"
    else:
        case.files["o.jsonl"], what = draw(damage(data))
        case.note += f" damaged: {what}"
    return case


@st.composite
def sensemaker_items(draw: st.DrawFn, depth: int = 0) -> list[dict[str, Any]]:
    items = []
    for _ in range(draw(st.integers(1, 3))):
        item: dict[str, Any] = {
            "title": draw(st.sampled_from(("Common ground", "Differences of opinion", "Overview", "")))
            + draw(any_text),
            "text": draw(texts),
            "citations": draw(st.lists(st.sampled_from(BASE_IDS), min_size=1, max_size=3)),
        }
        if depth < 2 and draw(st.booleans()):
            item["subContents"] = draw(sensemaker_items(depth + 1))
        items.append(item)
    return items


def _walk_texts(items: list[dict[str, Any]]) -> list[str]:
    out = []
    for item in items:
        out.append(item["text"].strip())
        out.extend(_walk_texts(item.get("subContents", [])))
    return out


@st.composite
def sensemaker_cases(draw: st.DrawFn) -> Case:
    items = draw(sensemaker_items())
    report = {"contents": items}
    encoding = draw(st.sampled_from(ENCODINGS))
    data = encode(
        json.dumps(report, ensure_ascii=draw(st.booleans()), indent=draw(st.sampled_from((None, 2)))), encoding
    )
    expected = _walk_texts(items)

    def call(ws: Workspace, inputs: Path) -> object:
        return ingest_sensemaker(ws, inputs / "summary.json", debate_id=BASE_DEBATE)

    def verify(con: duckdb.DuckDBPyConnection) -> None:
        got = [t for (t,) in query(con, "SELECT u.text FROM output_units u ORDER BY u.unit_index", [])]
        assert got == expected, "unit texts differ"

    case = Case("sensemaker", {"summary.json": data}, call, valid=True, verify=verify, note=encoding)
    if draw(st.integers(0, 2)) == 0:
        return case
    case.valid, case.verify = False, None
    if draw(st.booleans()):
        target = items[draw(st.integers(0, len(items) - 1))]
        key = draw(st.sampled_from(("title", "text", "citations", "subContents")))
        target[key] = draw(json_values)
        case.files["summary.json"] = json.dumps(report).encode()
        case.note += f" {key}={target[key]!r}"
    else:
        case.files["summary.json"], what = draw(damage(data))
        case.note += f" damaged: {what}"
    return case


#: Every reader and the strategy of its cases.
READERS: dict[str, Callable[[], st.SearchStrategy[Case]]] = {
    "polis": polis_cases,
    "csv": csv_cases,
    "jsonl": jsonl_cases,
    "parquet": parquet_cases,
    "outputs": output_cases,
    "sensemaker": sensemaker_cases,
}
#: Examples per reader in the fast subset (six readers: 120 cases, about 30 s on two idle cores).
CI_EXAMPLES = 20
FUZZ_SETTINGS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
}


# --------------------------------------------------------------------------------------------------
# the fast subset (CI)


@pytest.fixture(autouse=True)
def _texts_up_to_two_million_characters(monkeypatch):
    """The valid cases carry a 1 MB text (BIG_FIELD): raise the ingest limit (default 100,000 characters,
    ``$DEMBIAS_MAX_TEXT_CHARS``) above it, so that they test the readers, not the limit."""
    monkeypatch.setenv("DEMBIAS_MAX_TEXT_CHARS", "2000000")


@pytest.fixture(scope="module")
def base_ws(tmp_path_factory) -> tuple[Workspace, Path]:
    root = tmp_path_factory.mktemp("fuzz")
    return make_base_workspace(root), root


@pytest.mark.parametrize("reader", sorted(READERS))
def test_reader_never_crashes_and_round_trips(reader, base_ws):
    base, scratch = base_ws

    @settings(max_examples=CI_EXAMPLES, derandomize=True, **FUZZ_SETTINGS)  # the same cases on every CI run
    @given(READERS[reader]())
    def check(case: Case) -> None:
        failure = run_case(case, base, scratch)
        assert failure is None, failure

    check()


def test_oracle_catches_a_reader_that_alters_text(base_ws, monkeypatch):
    """The fuzz oracle is not vacuous: a reader that strips texts is caught."""
    from dembias.ingest.field_checks import require_text

    original = require_text
    monkeypatch.setattr(
        "dembias.ingest.polis.require_text", lambda *a, **k: original(*a, **k).str.replace("\u200b", "", regex=False)
    )
    base, scratch = base_ws
    rows = [
        ["comment-id", "author-id", "agrees", "disagrees", "moderated", "comment-body"],
        ["0", "1", "0", "0", "1", "a\u200bb"],
    ]
    case = Case(
        "polis",
        {"export/comments.csv": csv_text(rows).encode()},
        lambda ws, inputs: ingest_polis(ws, inputs / "export", debate_id="fz", language="en"),
        valid=True,
        verify=lambda con: _assert_texts(con, {"0": "a\u200bb"}),
    )
    assert "texts differ" in (run_case(case, base, scratch) or "")
    monkeypatch.undo()
    assert run_case(case, base, scratch) is None


def _assert_texts(con: duckdb.DuckDBPyConnection, expected: dict[str, str]) -> None:
    got = dict(query(con, "SELECT contribution_id, text FROM contributions WHERE debate_id = 'fz'", []))
    assert got == expected, "texts differ"


def test_oracle_catches_a_crash_and_a_partial_write(base_ws):
    base, scratch = base_ws

    def crash(ws: Workspace, inputs: Path) -> None:
        raise KeyError("boom")

    def partial(ws: Workspace, inputs: Path) -> None:
        (ws.root / "stray.tmp").write_text("half")
        raise IngestError(inputs / "x.csv", "refused")

    assert "KeyError" in run_case(Case("x", {"x.csv": b""}, crash, valid=False), base, scratch)
    assert "workspace changed" in run_case(Case("x", {"x.csv": b""}, partial, valid=False), base, scratch)


# --------------------------------------------------------------------------------------------------
# regressions: the crashes and silent corruptions fuzzing found, one exact case each

COMMENTS_HEADER = [
    "timestamp",
    "datetime",
    "comment-id",
    "author-id",
    "agrees",
    "disagrees",
    "moderated",
    "comment-body",
]


def _polis(**files: list[list[str]] | bytes) -> dict[str, bytes]:
    base = {"comments": [COMMENTS_HEADER, ["1", "x", "0", "7", "1", "0", "1", "Bike lanes."]]}
    base.update(files)
    return {
        f"export/{name}.csv": data if isinstance(data, bytes) else csv_text(data).encode()
        for name, data in base.items()
    }


def _ingest_export(ws: Workspace, inputs: Path) -> object:
    return ingest_polis(ws, inputs / "export", debate_id="fz", language="en")


def _contributions(name: str) -> Callable[[Workspace, Path], object]:
    return lambda ws, inputs: ingest_contributions(ws, inputs / name, debate_id="fz", language="en", chunk_rows=1)


def _assert_metadata(con: duckdb.DuckDBPyConnection, expected: dict[str, dict | None]) -> None:
    rows = con.execute("SELECT contribution_id, metadata FROM contributions WHERE debate_id = 'fz'").fetchall()
    assert {cid: json.loads(m) if m else None for cid, m in rows} == expected


REGRESSIONS = {
    # a count past 32 bits crashed DuckDB's insert (and a group id wrapped around silently)
    "huge count": Case(
        "polis",
        _polis(comments=[COMMENTS_HEADER, ["1", "x", "0", "7", "99999999999", "0", "1", "Bike lanes."]]),
        _ingest_export,
        valid=False,
        expect_error=("comments.csv", 2, "agrees"),
    ),
    "huge group": Case(
        "polis",
        _polis(**{"participants-votes": [["participant", "group-id"], ["7", "4294967296"]]}),
        _ingest_export,
        valid=False,
        expect_error=("participants-votes.csv", 2, "group-id"),
    ),
    # an empty voter id hit the NOT NULL constraint of votes.participant_pid
    "empty voter": Case(
        "polis",
        _polis(votes=[["comment-id", "voter-id", "vote"], ["0", "", "1"]]),
        _ingest_export,
        valid=False,
        expect_error=("votes.csv", 2, "voter-id"),
    ),
    "empty participant": Case(
        "polis",
        _polis(**{"participants-votes": [["participant", "group-id", "0"], [" ", "0", "1"]]}),
        _ingest_export,
        valid=False,
        expect_error=("participants-votes.csv", 2, "participant"),
    ),
    # a summary.csv field over the csv module's limit raised _csv.Error
    "big summary field": Case(
        "polis",
        _polis(summary=[["topic", BIG_FIELD]]),
        _ingest_export,
        valid=False,
        expect_error=("summary.csv", None, None),
    ),
    # the delimiter sniffer read the first record's long text and refused a valid comma file
    "big first field": Case(
        "csv",
        {"c.csv": csv_text([["id", "text", "region"], ["1", "short", "0"], ["2", BIG_FIELD, "0"]]).encode()},
        _contributions("c.csv"),
        valid=True,
        verify=lambda con: _assert_texts(con, {"1": "short", "2": BIG_FIELD}),
    ),
    # issue 20: one extra field on the first row made pandas take the ids as an index (text stored as id)
    "ragged first row": Case(
        "csv",
        {"c.csv": b"id,text\n1,hello,extra\n2,fine\n"},
        _contributions("c.csv"),
        valid=False,
        expect_error=("c.csv", 2, None),
    ),
    # issue 20: a short row was padded with empty values silently
    "ragged short row": Case(
        "csv",
        {"c.csv": b"id,text,region\n1,a,x\n2,b\n"},
        _contributions("c.csv"),
        valid=False,
        expect_error=("c.csv", 3, "region"),
    ),
    # issue 20: a text over the limit (here 2,000,000 characters) was accepted, and mapping it took 22 GiB
    "over-long text": Case(
        "jsonl",
        {
            "c.jsonl": (
                json.dumps({"id": 1, "text": "ok"}) + "\n" + json.dumps({"id": 2, "text": "x" * 2_000_001})
            ).encode()
        },
        _contributions("c.jsonl"),
        valid=False,
        expect_error=("c.jsonl", 2, "text"),
    ),
    # issue 20: a lone surrogate escape crashed the Arrow conversion with UnicodeEncodeError
    "lone surrogate": Case(
        "jsonl",
        {"c.jsonl": b'{"id": "1", "text": "ok"}\n{"id": "2", "text": "a\\ud800b"}\n'},
        _contributions("c.jsonl"),
        valid=False,
        expect_error=("c.jsonl", 2, "text"),
    ),
    # issue 20: --encoding utf-16 on a file without a BOM raised UnicodeError
    "utf-16 without BOM": Case(
        "csv",
        {"c.csv": b"id,text\n1,hello\n"},
        lambda ws, inputs: ingest_contributions(ws, inputs / "c.csv", debate_id="fz", encoding="utf-16"),
        valid=False,
        expect_error=("c.csv", None, None),
    ),
    # a JSONL chunk without a key of the first line raised KeyError
    "jsonl missing key later": Case(
        "jsonl",
        {"c.jsonl": b'{"id": 1, "text": "a", "region": "x"}\n{"id": 2, "text": "b"}\n'},
        _contributions("c.jsonl"),
        valid=True,
        verify=lambda con: _assert_texts(con, {"1": "a", "2": "b"}),
    ),
    # issue 20: a key first met on a later line was dropped from the metadata
    "jsonl new key later": Case(
        "jsonl",
        {"c.jsonl": b'{"id": 1, "text": "a"}\n{"id": 2, "text": "b", "region": "north"}\n'},
        _contributions("c.jsonl"),
        valid=True,
        verify=lambda con: _assert_metadata(con, {"1": {}, "2": {"region": "north"}}),
    ),
    # a Parquet file with a repeated column name raised AttributeError
    "parquet duplicate column": Case(
        "parquet",
        {"c.parquet": b""},  # filled below
        _contributions("c.parquet"),
        valid=False,
        expect_error=("c.parquet", 1, "text"),
    ),
    # a unit kind that is not a string crashed the Arrow conversion
    "unit kind": Case(
        "outputs",
        {
            "o.jsonl": json.dumps(
                {
                    "debate_id": BASE_DEBATE,
                    "task": "summary",
                    "model": "m",
                    "text": "T.",
                    "units": [{"text": "a"}, {"text": "b", "kind": 5}],
                }
            ).encode()
        },
        lambda ws, inputs: ingest_outputs(ws, inputs / "o.jsonl"),
        valid=False,
        expect_error=("o.jsonl", 1, "units[1].kind"),
    ),
    # Sensemaker items with a non-string text or non-list citations raised AttributeError / TypeError
    "sensemaker types": Case(
        "sensemaker",
        {"summary.json": json.dumps({"contents": [{"title": "x", "text": "ok", "citations": 5}]}).encode()},
        lambda ws, inputs: ingest_sensemaker(ws, inputs / "summary.json", debate_id=BASE_DEBATE),
        valid=False,
        expect_error=("summary.json", None, "contents"),
    ),
    # JSON nested past the parser's recursion limit raised RecursionError
    "sensemaker deep json": Case(
        "sensemaker",
        {"summary.json": b"[" * 100_000 + b"]" * 100_000},
        lambda ws, inputs: ingest_sensemaker(ws, inputs / "summary.json", debate_id=BASE_DEBATE),
        valid=False,
        expect_error=("summary.json", None, None),
    ),
}
_buffer = io.BytesIO()
pq.write_table(pa.table([pa.array(["1"]), pa.array(["t"]), pa.array(["u"])], names=["id", "text", "text"]), _buffer)
REGRESSIONS["parquet duplicate column"].files["c.parquet"] = _buffer.getvalue()


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression(name, base_ws):
    base, scratch = base_ws
    assert run_case(REGRESSIONS[name], base, scratch) is None
