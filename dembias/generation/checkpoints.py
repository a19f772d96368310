"""The resumable JSONL checkpoint of a generation run: one flushed line per finished output (the outputs
format of :mod:`dembias.ingest.outputs`), a side file for empty answers, and storing it in the corpus."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from dembias.ingest.outputs import OutputRecord, read_outputs_jsonl, store_outputs
from dembias.workspace.corpus import corpus_writer
from dembias.workspace.debates import stored_output_ids
from dembias.workspace.folder import Workspace


def read_checkpoint(path: Path) -> dict[str, dict[str, Any]]:
    """Finished outputs of a checkpoint file by output id (a torn last line is cut off first)."""
    done: dict[str, dict[str, Any]] = {}
    if path.exists():
        _repair_tail(path)
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    obj = json.loads(line)
                    done[obj["output_id"]] = obj
    skipped = skipped_path(path)
    if skipped.exists():
        _repair_tail(skipped)
        for line in skipped.read_text(encoding="utf-8").splitlines():
            if line.strip():
                obj = json.loads(line)
                done[obj["output_id"]] = obj
    return done


def skipped_path(path: Path) -> Path:
    """The side file of a checkpoint that lists the outputs whose answer was empty."""
    return path.with_name(path.name + ".skipped")


def _repair_tail(path: Path) -> None:
    """Cut a partial last line left by a killed writer, so appends start on a fresh line."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def append_line(path: Path, obj: dict[str, Any]) -> None:
    """Append one JSON line and flush it to disk (a kill loses at most the line being written)."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(obj, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def default_checkpoint(ws: Workspace, *, task: str, debate_id: str, key: dict[str, Any]) -> Path:
    """A checkpoint path that depends only on the run's arguments (so a re-run finds it)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return ws.root / "generations" / f"{task}-{debate_id}-{digest}.jsonl"


def store_checkpoint(ws: Workspace, path: Path, output_ids: Sequence[str] | None = None) -> int:
    """Store the outputs of a checkpoint file (only ``output_ids`` when given) that the corpus lacks."""
    if not Path(path).exists() or not Path(path).read_text(encoding="utf-8").strip():
        return 0
    records: list[OutputRecord] = read_outputs_jsonl(path)
    if output_ids is not None:
        wanted = set(output_ids)
        records = [r for r in records if r.output_id in wanted]
    existing = stored_output_ids(ws)
    records = [r for r in records if r.output_id not in existing]
    if not records:
        return 0
    with corpus_writer(ws) as con:
        return store_outputs(con, records)
