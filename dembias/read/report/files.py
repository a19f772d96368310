"""Writing the report to a file, as HTML or PDF, and the file's default name."""

from __future__ import annotations

from pathlib import Path

from dembias.read.report.data import ReportError, build_report
from dembias.read.report.document import report_html
from dembias.read.report.pdf import html_to_pdf
from dembias.read.verdict import model_label
from dembias.workspace.folder import Workspace


def write_report(
    ws: Workspace,
    *,
    debate_id: str,
    output_id: str,
    out: Path,
    fmt: str = "html",
    pluralism_run: str | None = None,
    fidelity_run: str | None = None,
) -> Path:
    """Build the report and write it to ``out`` as HTML or PDF (``fmt``); returns ``out``."""
    if fmt not in ("html", "pdf"):
        raise ReportError(f"--format must be html or pdf, not {fmt!r}")
    report = build_report(
        ws, debate_id=debate_id, output_id=output_id, pluralism_run=pluralism_run, fidelity_run=fidelity_run
    )
    document = report_html(report)
    data = html_to_pdf(document) if fmt == "pdf" else document.encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out


def default_file_name(debate_id: str, model: str, fmt: str) -> str:
    """``audit_<debate>_<model>.<fmt>``, with characters unsafe in a file name replaced."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in f"audit_{debate_id}_{model_label(model)}")
    return f"{safe}.{fmt}"
