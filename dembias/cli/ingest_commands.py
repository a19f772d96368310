"""``dembias ingest polis|contributions|outputs|sensemaker``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dembias.cli import WorkspaceOption, emit_json, ingest_app, progress, report_stale_runs, workspace_from
from dembias.errors import DembiasError
from dembias.ingest import ingest_contributions, ingest_outputs, ingest_polis, ingest_sensemaker
from dembias.ingest.personal import DEFAULT_PERSONAL_DATA

ReplaceOption = Annotated[bool, typer.Option("--replace", help="Replace a debate or output that already exists.")]
EncodingOption = Annotated[
    str | None, typer.Option("--encoding", help="Text encoding (default: from a BOM, else UTF-8).")
]


@ingest_app.command("polis")
def polis(
    path: Annotated[Path, typer.Argument(help="A Polis export folder (comments.csv, votes.csv, ...).")],
    workspace: WorkspaceOption = None,
    debate: Annotated[str | None, typer.Option("--debate", help="Debate id (default: the folder name).")] = None,
    country: Annotated[str | None, typer.Option(help="Country of the debate (e.g. AT).")] = None,
    language: Annotated[str | None, typer.Option(help="Language of every contribution (default: detected).")] = None,
    encoding: EncodingOption = None,
    replace: ReplaceOption = False,
) -> None:
    """Ingest a Polis export folder."""
    ws = workspace_from(workspace)
    counts = ingest_polis(
        ws,
        path,
        debate_id=debate,
        country=country,
        language=language,
        encoding=encoding,
        replace=replace,
    )
    if replace:
        report_stale_runs(ws, [debate or path.name])
    emit_json(counts)


def _parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        field, sep, column = pair.partition("=")
        if not sep or not field or not column:
            raise DembiasError(f"--map takes FIELD=COLUMN, got {pair!r}")
        mapping[field.strip()] = column.strip()
    return mapping


@ingest_app.command("contributions")
def contributions(
    path: Annotated[Path, typer.Argument(help="Contributions as CSV, JSONL or Parquet.")],
    workspace: WorkspaceOption = None,
    debate: Annotated[
        str | None, typer.Option("--debate", help="Debate id of every row (else a debate column).")
    ] = None,
    title: Annotated[str | None, typer.Option(help="Debate title.")] = None,
    column: Annotated[
        list[str] | None,
        typer.Option("--map", help="FIELD=COLUMN, e.g. --map text=body --map id=comment_id (repeatable)."),
    ] = None,
    votes: Annotated[Path | None, typer.Option(help="Votes CSV: contribution_id, voter_id, vote[, timestamp].")] = None,
    platform: Annotated[str, typer.Option(help="Platform name.")] = "generic",
    country: Annotated[str | None, typer.Option(help="Country of every row without one.")] = None,
    language: Annotated[str | None, typer.Option(help="Language of every row without one (else detected).")] = None,
    licence: Annotated[str | None, typer.Option(help="Licence of the data.")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv, jsonl or parquet (default: from the suffix).")
    ] = None,
    encoding: EncodingOption = None,
    replace: ReplaceOption = False,
    personal_data: Annotated[
        str,
        typer.Option(
            "--personal-data",
            help="Unmapped columns holding names, e-mails or phone numbers: pseudonymise (default), drop, or keep.",
        ),
    ] = DEFAULT_PERSONAL_DATA,
) -> None:
    """Ingest generic contributions with a column mapping."""
    ws = workspace_from(workspace)
    counts = ingest_contributions(
        ws,
        path,
        replace=replace,
        columns=_parse_mapping(column or []),
        debate_id=debate,
        title=title,
        platform=platform,
        country=country,
        language=language,
        licence=licence,
        fmt=fmt,
        encoding=encoding,
        votes_path=votes,
        personal_data=personal_data,
    )
    for debate_id, summary in counts.items():
        for action, columns in summary.get("personal_data", {}).items():
            progress(f"{debate_id}: personal data in metadata columns {', '.join(columns)}: {action.replace('_', ' ')}")
    if replace:
        report_stale_runs(ws, list(counts))
    emit_json(counts)


@ingest_app.command("outputs")
def outputs(
    path: Annotated[Path, typer.Argument(help="Model outputs as JSONL (see README).")],
    workspace: WorkspaceOption = None,
    encoding: EncodingOption = None,
    replace: ReplaceOption = False,
) -> None:
    """Ingest model outputs (summaries, reformulations, translations)."""
    emit_json({"outputs": ingest_outputs(workspace_from(workspace), path, encoding=encoding, replace=replace)})


@ingest_app.command("sensemaker")
def sensemaker(
    summary: Annotated[Path, typer.Argument(help="The report's summary.json.")],
    debate: Annotated[str, typer.Option("--debate", help="The debate the report summarizes.")],
    comments: Annotated[Path | None, typer.Option(help="The report's comments.json.")] = None,
    workspace: WorkspaceOption = None,
    replace: ReplaceOption = False,
) -> None:
    """Ingest a Sensemaker (sensemaking-tools) report as a summary output."""
    units = ingest_sensemaker(
        workspace_from(workspace), summary, debate_id=debate, comments_path=comments, replace=replace
    )
    emit_json({"units": units})
