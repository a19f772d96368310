"""``dembias benchmark run``: many models x prompts x debates x languages x samples from one YAML spec."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dembias.cli import WorkspaceOption, app, emit_json, progress, workspace_from

benchmark_app = typer.Typer(help="Run a benchmark spec: generate, score and tabulate.", no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")


@benchmark_app.command("run")
def run(
    spec: Annotated[Path, typer.Argument(help="The benchmark spec (YAML; see docs/benchmark.md).")],
    workspace: WorkspaceOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the run's summary as JSON.")] = False,
) -> None:
    """Generate what the spec's table lacks (resumable), score it, write table.csv and table.json."""
    from dembias.jobs.benchmark import run_benchmark
    from dembias.jobs.benchmark_spec import load_spec

    parsed = load_spec(spec)
    ws = workspace_from(workspace or parsed.workspace)
    result = run_benchmark(parsed, ws, progress=progress)
    if json_out:
        emit_json(result.to_dict())
    else:
        progress(
            f"{result.generated} generated, {result.resumed} resumed, {result.outputs} outputs scored; "
            f"{len(result.table)} rows in {result.csv} and {result.json} ({result.seconds} s)"
        )
