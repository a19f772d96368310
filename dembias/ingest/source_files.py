"""Reading a source file: refusing what is not a regular file, decoding strictly, JSON Lines with line numbers."""

from __future__ import annotations

import codecs
import json
import os
import re
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from dembias.errors import IngestError

T = TypeVar("T")


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


def read_text_file(path: Path, encoding: str) -> str:
    """The whole file as text, decoded strictly (after :func:`check_decodes`)."""
    with open(path, encoding=encoding, newline="") as handle:
        return handle.read()
