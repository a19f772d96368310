"""``dembias redact``: replace e-mail addresses, phone numbers, URLs, IBANs and card numbers in the corpus."""

from __future__ import annotations

from typing import Annotated

import typer

from dembias.cli import WorkspaceOption, app, emit_json, progress, report_stale_runs, workspace_from
from dembias.errors import DembiasError
from dembias.ingest.redact import PATTERN_NAMES, redact_corpus


@app.command("redact")
def redact(
    workspace: WorkspaceOption = None,
    debate: Annotated[
        list[str] | None, typer.Option("--debate", help="Debate to redact (repeatable; default: every debate).")
    ] = None,
    pattern: Annotated[
        list[str] | None,
        typer.Option("--pattern", help=f"Only these patterns (repeatable): {', '.join(PATTERN_NAMES)}."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print counts and examples of the originals; write nothing.")
    ] = False,
    examples: Annotated[int, typer.Option("--examples", min=0, help="Examples to show per debate.")] = 3,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list, one object per debate.")] = False,
) -> None:
    """Redact personal data in contributions and outputs (placeholders such as [EMAIL], [PHONE])."""
    ws = workspace_from(workspace)
    try:
        results = redact_corpus(
            ws,
            debate_ids=debate or None,
            patterns=pattern or None,
            dry_run=dry_run,
            max_examples=examples,
        )
    except ValueError as exc:
        raise DembiasError(str(exc)) from exc
    if as_json:
        emit_json([r.to_dict() for r in results])
        return
    verb = "would replace" if dry_run else "replaced"
    for r in results:
        found = ", ".join(f"{name} {n}" for name, n in r.counts.items() if n) or "nothing"
        changed = sum(r.texts_changed.values())
        typer.echo(f"{r.debate_id}: {verb} {found} ({changed} texts)")
        for ex in r.examples:
            typer.echo(f"    {ex['pattern']:<6} {ex['table']}: {ex.get('before', ex.get('after'))}")
    if not dry_run:
        progress("redaction recorded in each debate's extra (key 'redaction'); derived runs predate it")
        report_stale_runs(ws, [r.debate_id for r in results if sum(r.texts_changed.values())])
