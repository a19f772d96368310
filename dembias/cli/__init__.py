"""The ``dembias`` command line. Argument parsing only: every command calls library functions."""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from dembias.errors import DembiasError
from dembias.workspace.folder import Workspace
from dembias.workspace.private_files import use_private_umask

app = typer.Typer(
    help="Measure democratic biases (pluralism, fidelity) of language models in deliberation.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
ingest_app = typer.Typer(help="Ingest debates and model outputs into a workspace.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
score_app = typer.Typer(help="Score outputs: pluralism of summaries, fidelity of rewrites.", no_args_is_help=True)
app.add_typer(score_app, name="score")

WorkspaceOption = Annotated[
    Path | None,
    typer.Option(
        "--workspace",
        "-w",
        help="Workspace folder (default: $DEMBIAS_WORKSPACE, else data/workspace).",
        show_default=False,
    ),
]


def workspace_from(path: Path | None) -> Workspace:
    """The workspace a command works on."""
    return Workspace.resolve(path)


def emit_json(obj: Any) -> None:
    """Print an object as JSON on stdout."""
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


def progress(message: str) -> None:
    """Progress messages go to stderr so that --json output stays clean."""
    typer.echo(message, err=True)


def report_stale_runs(ws: Workspace, debate_ids: list[str], *, skip: frozenset[str] = frozenset()) -> None:
    """On stderr: the runs of these debates that describe an earlier version of them, and how to refresh them."""
    from dembias.workspace.staleness import refresh_hint, stale_runs

    for debate_id in debate_ids:
        stale = [r for r in stale_runs(ws, debate_id) if r.run_id not in skip]
        if not stale:
            continue
        progress(f"{debate_id}: {len(stale)} run(s) describe the debate as it was before it changed:")
        for run in stale:
            progress(f"  {run.run_id} ({run.stage}); refresh: {refresh_hint(run)}")


#: Command modules, one per stage; each defines its commands on `app`, `ingest_app` or `score_app`.
COMMAND_MODULES = (
    "ingest_commands",
    "workspace_commands",
    "map_commands",
    "pluralism_commands",
    "fidelity_commands",
    "generate_commands",
    "jobs_commands",
    "redact_commands",
    "validate_commands",
    "benchmark_commands",
    "report_commands",
)


def _register_commands() -> None:
    """Import every command module that exists (a stage not built yet simply has no file)."""
    for name in COMMAND_MODULES:
        if importlib.util.find_spec(f"dembias.cli.{name}") is not None:
            importlib.import_module(f"dembias.cli.{name}")


_register_commands()


def main() -> None:
    """Entry point of the console script: clear one-line errors instead of tracebacks; files it creates are
    private (umask 077)."""
    use_private_umask()
    try:
        app()
    except DembiasError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except FileExistsError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(2)
