"""``dembias report``: the one-page audit report of one summary, as self-contained HTML or as PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dembias.cli import WorkspaceOption, app, workspace_from


@app.command("report")
def report(
    debate: Annotated[str, typer.Option("--debate", help="Debate id.")],
    output: Annotated[str, typer.Option("--output", help="Output id of the summary to audit.")],
    workspace: WorkspaceOption = None,
    fmt: Annotated[str, typer.Option("--format", help="html (self-contained) or pdf (printed by Chromium).")] = "html",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="File to write (default: audit_<debate>_<model>.<format> here).", show_default=False
        ),
    ] = None,
    pluralism_run: Annotated[
        str | None, typer.Option("--pluralism-run", help="Pluralism run to read (default: the debate's newest).")
    ] = None,
    fidelity_run: Annotated[
        str | None, typer.Option("--fidelity-run", help="Fidelity run to read (default: the debate's newest).")
    ] = None,
) -> None:
    """Write the audit report of one summary: the finding, its sentences with what each carries, what it left out
    (with quotes), its coverage by opinion group, country and language, the debate's fidelity by language pair, and
    the runs and parameters behind every number. The HTML makes no request; the PDF needs Debian's chromium."""
    from dembias.read.queries import outputs_table
    from dembias.read.report import default_file_name, write_report

    if fmt not in ("html", "pdf"):
        raise typer.BadParameter(f"--format must be html or pdf, not {fmt!r}")
    ws = workspace_from(workspace)
    if out is None:
        outputs = outputs_table(ws, debate)
        model = outputs.loc[outputs["output_id"] == output, "model"]
        out = Path(default_file_name(debate, str(model.iloc[0]) if len(model) else output, fmt))
    path = write_report(
        ws, debate_id=debate, output_id=output, out=out, fmt=fmt, pluralism_run=pluralism_run, fidelity_run=fidelity_run
    )
    typer.echo(str(path))
