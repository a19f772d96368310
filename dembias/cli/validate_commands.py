"""``dembias validate``: score the control battery on every debate and check the orderings."""

from __future__ import annotations

from typing import Annotated

import typer

from dembias.cli import WorkspaceOption, app, emit_json, progress, workspace_from


@app.command("validate")
def validate(
    workspace: WorkspaceOption = None,
    debate: Annotated[str | None, typer.Option("--debate", help="Debate id (default: every mapped debate).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Random seed (random citations, bootstrap, placebo).")] = 0,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples for the controls.")] = 200,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Score control summaries (vacuous, title, off-topic, random citations, one-sided, ideal) with the same
    code as real outputs and check the orderings every pluralism metric must respect. Exit 1 if one fails."""
    from dembias.cli.pluralism_commands import _debates
    from dembias.pluralism.inputs import MAPPING_STAGE
    from dembias.pluralism.validate import validate_debate
    from dembias.workspace.runs import latest_run

    ws = workspace_from(workspace)
    results, skipped = [], []
    for debate_id in _debates(ws, debate):
        if latest_run(ws, stage=MAPPING_STAGE, debate_id=debate_id) is None:
            if debate:
                raise typer.BadParameter(f"debate {debate_id!r} has no mapping run; run `dembias map` first")
            skipped.append(debate_id)
            progress(f"validate {debate_id}: not mapped, skipped")
            continue
        run, checks, _controls = validate_debate(ws, debate_id, seed=seed, n_resamples=resamples, progress=progress)
        results.append((debate_id, run.run_id, checks))
    failed = sum(not c.passed for _d, _r, checks in results for c in checks)
    if as_json:
        emit_json(
            {
                "passed": failed == 0,
                "n_checks": sum(len(c) for _d, _r, c in results),
                "n_failed": failed,
                "skipped": skipped,
                "debates": [
                    {"debate_id": d, "run_id": r, "checks": [c.__dict__ for c in checks]} for d, r, checks in results
                ],
            }
        )
    else:
        for debate_id, _run, checks in results:
            for c in checks:
                mark = "PASS" if c.passed else "FAIL"
                typer.echo(f"{mark}\t{debate_id}\t{c.control}\t{c.check}\texpected {c.expected}\tfound {c.found}")
        typer.echo(f"{failed} of {sum(len(c) for _d, _r, c in results)} checks failed")
    if failed:
        raise typer.Exit(1)
