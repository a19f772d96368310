"""``dembias demo`` and ``dembias info``."""

from __future__ import annotations

from typing import Annotated

import typer

from dembias.cli import WorkspaceOption, app, emit_json, progress, workspace_from
from dembias.jobs.demo import build_demo
from dembias.read.info import workspace_info


@app.command("demo")
def demo(
    workspace: WorkspaceOption = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild the workspace if it exists.")] = False,
    if_missing: Annotated[bool, typer.Option("--if-missing", help="Do nothing when the workspace exists.")] = False,
) -> None:
    """Build the demo workspace from data/ (five Polis conversations, make.org proposals, the Sensemaker report)."""
    ws = workspace_from(workspace)
    if if_missing and ws.exists():
        progress(f"{ws.root}: demo workspace already built")
        return
    build_demo(ws, force=force, progress=progress)
    progress(f"demo workspace ready at {ws.root}")


@app.command("info")
def info(
    workspace: WorkspaceOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """List the debates of a workspace with their counts, and its runs."""
    summary = workspace_info(workspace_from(workspace))
    if as_json:
        emit_json(summary)
        return
    typer.echo(f"workspace {summary['workspace']}")
    for d in summary["debates"]:
        typer.echo(
            f"  {d['debate_id']:<30} {d['language'] or '?':<8} contributions {d['n_contributions']:>7} "
            f"(accepted {d['n_accepted']}), participants {d['n_participants']}, votes {d['n_votes']}, "
            f"groups {d['n_groups']}, outputs {d['n_outputs']}"
        )
    typer.echo(f"  runs: {len(summary['runs'])}")
    for r in summary["runs"]:
        mark = f"  STALE: the debate changed since; refresh: {r['refresh']}" if r["stale"] else ""
        typer.echo(f"    {r['run_id']}  {r['stage']:<10} {r['debate_id'] or ''}{mark}")
