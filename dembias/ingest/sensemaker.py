"""Reader for a Sensemaker report (Jigsaw's sensemaking-tools): ``summary.json`` and ``comments.json``.

The report is a tree of items (title, text, optional citations, optional subContents). It becomes one
output of task ``summary`` whose units are the items' texts: an item that cites comments is one unit
carrying those citations; an item without citations is split into its paragraphs and bullets, each a
unit without citations. Each unit keeps its section path and a kind derived from its heading
(``common_ground``, ``differences``, ``themes``, ``overview``, ``text``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dembias.errors import IngestError
from dembias.ingest.outputs import OutputRecord, OutputUnit, output_id_for
from dembias.ingest.source_files import check_decodes, sniff_encoding

SENSEMAKER_MODEL = "gemini (sensemaking-tools)"
_BLOCKS = re.compile(r"\n\s*\n|\n(?=\s*[-*•]\s)")


def _kind(title: str) -> str:
    lowered = title.lower()
    if lowered.startswith("common ground"):
        return "common_ground"
    if lowered.startswith("differences of opinion"):
        return "differences"
    if lowered.startswith("prominent themes"):
        return "themes"
    if "overview" in lowered or "introduction" in lowered:
        return "overview"
    return "text"


def _load_json(path: Path, encoding: str | None) -> Any:
    if not path.exists():
        raise IngestError(path, "no such file")
    enc = sniff_encoding(path, encoding)
    check_decodes(path, enc)
    try:
        return json.loads(path.read_text(encoding=enc))
    except json.JSONDecodeError as exc:
        raise IngestError(path, f"not valid JSON: {exc.msg}", row=exc.lineno) from exc
    except RecursionError as exc:
        raise IngestError(path, "not valid JSON: nested too deeply") from exc


def _walk(items: list[Any], path: tuple[str, ...], summary_path: Path, units: list[OutputUnit]) -> None:
    """Add the units of a tree of report items (depth first) to ``units``; ``path`` holds the parents' titles."""
    for position, item in enumerate(items):
        where = f"item {position} of {' > '.join(path) or 'contents'}"
        if not isinstance(item, dict) or not isinstance(item.get("title", ""), str):
            raise IngestError(summary_path, f"{where} is malformed", field="contents")
        title = item.get("title", "").strip()
        section = " > ".join(t.lstrip("#").strip() for t in (*path, title) if t)
        text = item.get("text", "") or ""
        raw_citations = item.get("citations", []) or []
        children = item.get("subContents", []) or []
        if not isinstance(text, str) or not isinstance(raw_citations, list) or not isinstance(children, list):
            raise IngestError(
                summary_path, f"{where}: text must be a string, citations and subContents lists", field="contents"
            )
        units += _item_units(text, [str(c) for c in raw_citations], kind=_kind(title), section=section)
        _walk(children, (*path, title), summary_path, units)


def _item_units(text: str, citations: list[str], *, kind: str, section: str) -> list[OutputUnit]:
    """One unit for a cited text; an uncited text becomes one unit per block (paragraph or bullet)."""
    if not text.strip():
        return []
    if citations:
        return [OutputUnit(text=text.strip(), citations=citations, kind=kind, section=section)]
    return [
        OutputUnit(text=block.strip(), kind=kind, section=section) for block in _BLOCKS.split(text) if block.strip()
    ]


def read_sensemaker(
    summary_path: str | Path,
    *,
    debate_id: str,
    comments_path: str | Path | None = None,
    encoding: str | None = None,
) -> OutputRecord:
    """Read a Sensemaker report as one summary output of ``debate_id``.

    ``comments_path`` (``comments.json``), when given, is checked to describe the same comments as the
    citations; its per-group vote counts and topics are kept in the output's params.
    """
    summary_path = Path(summary_path)
    report = _load_json(summary_path, encoding)
    if not isinstance(report, dict) or not isinstance(report.get("contents"), list):
        raise IngestError(summary_path, "expected an object with a 'contents' list", field="contents")

    units: list[OutputUnit] = []
    _walk(report["contents"], (), summary_path, units)
    if not units:
        raise IngestError(summary_path, "the report has no text", field="contents")

    params: dict[str, Any] = {
        "source": "sensemaking-tools",
        "n_items_with_citations": sum(bool(u.citations) for u in units),
    }
    if comments_path is not None:
        comments = _load_json(Path(comments_path), encoding)
        if not isinstance(comments, list):
            raise IngestError(comments_path, "expected a list of comments")
        params["n_comments_in_report_input"] = len(comments)
    full_text = "\n\n".join(u.text for u in units)
    return OutputRecord(
        output_id=output_id_for(debate_id, "summary", SENSEMAKER_MODEL, full_text),
        debate_id=debate_id,
        task="summary",
        model=SENSEMAKER_MODEL,
        text=full_text,
        units=units,
        prompt_id="sensemaking-tools report",
        params=params,
        origin=str(summary_path),
    )
