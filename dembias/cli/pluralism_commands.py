"""``dembias score pluralism`` and ``dembias score baselines``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer

from dembias.cli import WorkspaceOption, emit_json, progress, score_app, workspace_from
from dembias.errors import DembiasError, NothingToDo
from dembias.read.export import spreadsheet_safe
from dembias.small_cells import MIN_CELL
from dembias.workspace.debates import debate_ids, debates_of_outputs, output_ids_of
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import RunInfo

if TYPE_CHECKING:
    from dembias.models.bundle import StageModels
    from dembias.pluralism import PluralismParams
    from dembias.pluralism.scoring import OutputScore


def _debates(ws, debate: str | None, outputs: list[str] | None = None) -> list[str]:
    """The debates to work on: the one named, else those of the named outputs, else every debate."""
    if debate:
        return [debate]
    if outputs:
        found = debates_of_outputs(ws, outputs)
        if not found:
            raise DembiasError(f"no output {sorted(outputs)} in {ws.root}")
        return found
    return debate_ids(ws)


def write_per_contribution(path: Path, frame: pd.DataFrame) -> None:
    """Write per-contribution coverage as CSV or JSON (by the file's suffix)."""
    if path.suffix.lower() == ".json":
        frame.to_json(path, orient="records", force_ascii=False, indent=1)
    elif path.suffix.lower() == ".csv":
        spreadsheet_safe(frame).to_csv(path, index=False)  # the one formula guard (dembias.read.export)
    else:
        raise DembiasError(f"{path}: --per-contribution takes a .csv or .json file")


@score_app.command("pluralism")
def pluralism(
    workspace: WorkspaceOption = None,
    debate: Annotated[str | None, typer.Option("--debate", help="Debate id (default: every debate).")] = None,
    output: Annotated[
        list[str] | None, typer.Option("--output", help="Output id to score (repeatable; default: every summary).")
    ] = None,
    group_by: Annotated[
        list[str] | None,
        typer.Option("--group-by", help="Contribution column or metadata key to slice coverage by (repeatable)."),
    ] = None,
    per_contribution: Annotated[
        Path | None, typer.Option("--per-contribution", help="Also write p(d) per contribution to FILE.csv|json.")
    ] = None,
    nli: Annotated[
        str | None, typer.Option("--nli", help="NLI model id or path to link outputs without citations.")
    ] = None,
    minority_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Minority topics (smallest clusters) hold at most this share.")
    ] = 0.2,
    min_cell: Annotated[int, typer.Option(min=1, help="Suppress slices with fewer contributors.")] = MIN_CELL,
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")] = 1000,
    placebo: Annotated[int, typer.Option(min=0, help="Random-links placebo draws per output (0: none).")] = 20,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object per (debate, output).")] = False,
    by_model: Annotated[
        bool,
        typer.Option(
            "--by-model",
            help="With --json: print {outputs, by_model}, by_model holding each metric per model (and model x "
            "prompt) across repeated samples: mean, SD, min-max and a 95% t interval over the samples.",
        ),
    ] = False,
) -> None:
    """Score the pluralism of summaries (survival, UER/BUR, coverage, JR) and write a run per debate."""
    from dembias.models.bundle import StageModels
    from dembias.models.nli import NliJudge
    from dembias.pluralism import PluralismParams

    ws = workspace_from(workspace)
    params = PluralismParams(
        group_by=tuple(group_by or ()), minority_share=minority_share, min_cell=min_cell,
        n_resamples=resamples, n_placebo=placebo, seed=seed, nli_model=nli,
    )  # fmt: skip
    models = StageModels(nli=NliJudge.load(nli) if nli else None)  # loaded once for every debate
    runs = _score_debates(ws, debate, output, params, models)
    results = [_result_json(run, s, params.group_by) for run in runs for s in run.details]
    if per_contribution:
        _write_per_contribution(per_contribution, runs)
    if as_json and by_model:
        from dembias.jobs.benchmark import pluralism_spread

        emit_json({"outputs": results, "by_model": pluralism_spread(ws, [s for r in runs for s in r.details])})
    elif as_json:
        emit_json(results)
    else:
        for obj in results:
            typer.echo(_result_line(obj))


def _score_debates(
    ws: Workspace, debate: str | None, output: list[str] | None, params: PluralismParams, models: StageModels
) -> list[RunInfo]:
    """One pluralism run per debate (of ``debate``, else of the named outputs, else every debate).

    A debate with no summary to score is said on stderr and skipped.
    """
    from dembias import pluralism

    runs = []
    for debate_id in _debates(ws, debate, output):
        output_ids = _debate_outputs(ws, debate_id, output, debate_named=bool(debate))
        try:
            runs.append(
                pluralism.run(
                    ws,
                    debate_id=debate_id,
                    params=dataclasses.replace(params, output_ids=output_ids),
                    models=models,
                    progress=progress,
                )
            )
        except NothingToDo as nothing:
            progress(str(nothing))
    return runs


def _debate_outputs(
    ws: Workspace, debate_id: str, output: list[str] | None, *, debate_named: bool
) -> tuple[str, ...] | None:
    """The outputs to score in a debate: every summary (None) without ``--output``; with it, the named
    outputs of this debate (all of them when ``--debate`` names it, so an unknown one is an error)."""
    wanted = set(output or [])
    if not wanted:
        return None
    if debate_named:
        return tuple(sorted(wanted))
    return tuple(sorted(wanted & output_ids_of(ws, debate_id)))


def _result_json(run: RunInfo, score: OutputScore, group_by: Sequence[str]) -> dict:
    """The ``--json`` object of one scored output, with the run it landed in."""
    obj = score.to_json(group_by=group_by)
    obj["run_id"] = run.run_id
    return obj


def _write_per_contribution(path: Path, runs: list[RunInfo]) -> None:
    """``--per-contribution``: p(d) of every contribution for every scored output, in one file."""
    per_rows = [
        s.result.coverage.assign(debate_id=run.debate_id, output_id=s.output_id, model=s.model)[
            ["debate_id", "output_id", "model", "contribution_id", "p"]
        ]
        for run in runs
        for s in run.details
    ]
    frame = pd.concat(per_rows, ignore_index=True) if per_rows else pd.DataFrame()
    write_per_contribution(path, frame)
    progress(f"wrote {len(frame)} rows to {path}")


def _result_line(obj: dict) -> str:
    """The plain-text line of one scored output."""
    flags = ",".join(obj["quality_flags"]) or "-"
    return (
        f"{obj['debate_id']}\t{obj['model']}\tsurvival={_v(obj['survival'])}"
        f"\tminority topics={_v(obj['minority_topics']['survival'])}"
        f"\tUER topics={_v(obj['minority_topics']['uer'])}"
        f"\topinion groups under-represented={obj['opinion_groups'].get('n_under_represented', 'n/a')}"
        f"\tflags={flags}"
    )


def _v(cell: dict | None) -> str:
    if not cell or cell.get("value") is None:
        return "n/a"
    if cell.get("low") is None:
        return f"{cell['value']:.2f}"
    return f"{cell['value']:.2f} [{cell['low']:.2f}, {cell['high']:.2f}]"


@score_app.command("baselines")
def baselines(
    workspace: WorkspaceOption = None,
    debate: Annotated[str | None, typer.Option("--debate", help="Debate id (default: every debate).")] = None,
    budget: Annotated[int, typer.Option(min=1, help="Units per baseline summary.")] = 20,
    seed: Annotated[int, typer.Option(min=0, help="Random seed (random baseline).")] = 0,
) -> None:
    """Add baseline summaries (top-voted, centroid, MMR, cluster-representative, random) as outputs."""
    from dembias.pluralism.stored_baselines import add_baselines

    ws = workspace_from(workspace)
    emit_json({d: add_baselines(ws, d, budget=budget, seed=seed, progress=progress) for d in _debates(ws, debate)})
