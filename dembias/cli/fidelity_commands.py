"""``dembias score fidelity`` and ``dembias ingest interactions``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dembias.cli import WorkspaceOption, emit_json, ingest_app, progress, score_app, workspace_from
from dembias.errors import NothingToDo
from dembias.fidelity import FidelityParams, FidelityRun
from dembias.fidelity import run as run_fidelity_stage
from dembias.fidelity.interaction_runs import ingest_interactions, score_interaction_log
from dembias.fidelity.interaction_views import interactions_json
from dembias.fidelity.json_view import fidelity_json
from dembias.fidelity.pair_loading import check_group_by_keys
from dembias.models.bundle import StageModels
from dembias.models.embedders import DEFAULT_EMBEDDER, get_embedder
from dembias.small_cells import MIN_CELL
from dembias.workspace.folder import Workspace
from dembias.workspace.rewrites import debates_with_rewrites

EmbedderOption = Annotated[
    str,
    typer.Option(
        "--embedder",
        help="use-multilingual (offline default), sentence-transformers:<id or path>, or a registered embedder.",
    ),
]


@score_app.command("fidelity")
def fidelity(
    workspace: WorkspaceOption = None,
    debate: Annotated[str | None, typer.Option("--debate", help="Score one debate (default: every debate).")] = None,
    embedder: EmbedderOption = DEFAULT_EMBEDDER,
    nli: Annotated[
        str | None,
        typer.Option("--nli", help="A transformers NLI model id or folder (scores entailment and stance flips)."),
    ] = None,
    n_null: Annotated[int, typer.Option("--n-null", min=10, help="Random contributions in each output's null.")] = 500,
    min_cell: Annotated[
        int,
        typer.Option("--min-cell", "-k", min=1, help="Suppress slices with fewer contributors (-k: old name)."),
    ] = MIN_CELL,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of nulls, bootstraps and permutations.")] = 0,
    include_rejected: Annotated[
        bool, typer.Option("--include-rejected", help="Also score rewrites of rejected contributions.")
    ] = False,
    group_by: Annotated[
        list[str] | None,
        typer.Option("--group-by", help="Source metadata key to slice and test fidelity by (repeatable)."),
    ] = None,
    reference: Annotated[
        list[str] | None,
        typer.Option(
            "--reference",
            help="DIMENSION=VALUE: compare every group of DIMENSION with VALUE (e.g. model=human) instead of "
            "pairwise (repeatable).",
        ),
    ] = None,
    json_out: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print every scored output, the aggregates, the tests, the views and by_model (each measure "
            "per model and model x prompt across repeated samples).",
        ),
    ] = False,
) -> None:
    """Score the fidelity of reformulations and translations; one `fidelity` run per debate."""
    params = FidelityParams(
        embedder_spec=embedder, nli_model=nli, n_null=n_null, min_cell=min_cell, seed=seed,
        include_rejected=include_rejected, group_by=tuple(group_by or ()), reference=_references(reference),
    )  # fmt: skip
    ws = workspace_from(workspace)
    runs = _score_debates(ws, debate, params)
    view = fidelity_json(runs)
    if json_out:
        from dembias.jobs.benchmark import fidelity_spread

        view["by_model"] = fidelity_spread(ws, runs)
        emit_json(view)
        return
    _echo_runs(runs)
    if view["note"]:
        typer.echo(f"note: {view['note']}")


def _references(items: list[str] | None) -> dict[str, str]:
    """The ``--reference DIMENSION=VALUE`` options as a dictionary."""
    references = {}
    for item in items or []:
        dimension, sep, value = item.partition("=")
        if not sep or not dimension or not value:
            raise typer.BadParameter(f"--reference {item!r}: expected DIMENSION=VALUE")
        references[dimension] = value
    return references


def _score_debates(ws: Workspace, debate: str | None, params: FidelityParams) -> list[FidelityRun]:
    """One fidelity run for ``debate``, or for every debate with rewrites to score (the models loaded once)."""
    if params.group_by:
        check_group_by_keys(ws, params.group_by, debate_id=debate, include_rejected=params.include_rejected)
    models, runs = StageModels(), []
    for debate_id in [debate] if debate else debates_with_rewrites(ws):
        try:
            info = run_fidelity_stage(ws, debate_id=debate_id, params=params, models=models, progress=progress)
        except NothingToDo:
            if debate:
                raise
            continue
        runs.append(info.details)
    if not runs:
        raise NothingToDo(f"no reformulation or translation outputs to score in {ws.root}")
    return runs


def _echo_runs(runs: list[FidelityRun]) -> None:
    """Per run: its rewrites, mean similarity and flagged count, then the five rewrites most worth a review."""
    for run in runs:
        pairs = run.pairs
        typer.echo(
            f"{run.info.debate_id}: {len(pairs)} rewrites, mean similarity {pairs['similarity'].mean():.3f}, "
            f"{int((pairs['n_flags'] > 0).sum())} flagged, run {run.info.run_id}"
        )
        for row in pairs.sort_values("review_score", ascending=False).head(5).itertuples():
            kinds = ", ".join(row.flag_kinds) or "no flag"
            typer.echo(
                f"  {row.output_id} ({row.language_pair}, {row.model}) review {row.review_score:.2f} "
                f"similarity {row.similarity:.3f} p{row.similarity_percentile:.0f}: {kinds}"
            )


@ingest_app.command("interactions")
def interactions(
    path: Annotated[Path, typer.Argument(help="A bot-citizen interaction log (JSONL).")],
    workspace: WorkspaceOption = None,
    embedder: Annotated[
        str, typer.Option("--embedder", help="Embedder spec for similarity and pull, or 'none' (characters only).")
    ] = DEFAULT_EMBEDDER,
    min_cell: Annotated[
        int,
        typer.Option("--min-cell", "-k", min=1, help="Suppress slices with fewer contributors (-k: old name)."),
    ] = MIN_CELL,
) -> None:
    """Store an interaction log as a run of stage `interactions` and print its report."""
    model = None if embedder == "none" else get_embedder(embedder)
    info, report = ingest_interactions(workspace_from(workspace), path, embedder=model, min_cell=min_cell)
    records = report.astype(object).where(report.notna(), None).to_dict(orient="records")
    emit_json({"run_id": info.run_id, "report": records})


@score_app.command("interactions")
def score_interactions_command(
    workspace: WorkspaceOption = None,
    debate: Annotated[
        str | None, typer.Option("--debate", help="Score one debate's interactions (default: all of the log).")
    ] = None,
    log: Annotated[Path | None, typer.Option("--log", help="Read this log (default: the latest one ingested).")] = None,
    embedder: Annotated[
        str, typer.Option("--embedder", help="Embedder spec for similarity and pull (with --log), or 'none'.")
    ] = "none",
    min_cell: Annotated[
        int,
        typer.Option("--min-cell", "-k", min=1, help="Suppress slices with fewer contributors (-k: old name)."),
    ] = MIN_CELL,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Seed of bootstraps and permutations.")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="Print rates, pull and flagged suggestions.")] = False,
) -> None:
    """Rates with intervals by language, country, topic and vote group; the pull; flagged suggestions."""
    model = None if embedder == "none" or log is None else get_embedder(embedder)
    info, tables = score_interaction_log(
        workspace_from(workspace), debate_id=debate, log=log, embedder=model, min_cell=min_cell, seed=seed
    )
    view = interactions_json(info, tables)
    if json_out:
        emit_json(view)
        return
    everyone = tables["rates"].iloc[0]
    typer.echo(
        f"{everyone.n} interactions, acceptance {everyone.acceptance_rate:.2f} "
        f"[{everyone.acceptance_low:.2f}, {everyone.acceptance_high:.2f}], "
        f"{len(tables['flagged'])} flagged suggestions, run {info.run_id}"
    )
