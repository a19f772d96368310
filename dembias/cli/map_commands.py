"""``dembias map``: embed, map and cluster debates, one mapping run per debate."""

from __future__ import annotations

from typing import Annotated

import typer

from dembias import opinion_map
from dembias.cli import WorkspaceOption, app, emit_json, progress, report_stale_runs, workspace_from
from dembias.models.bundle import StageModels
from dembias.models.embedders import DEFAULT_EMBEDDER, get_embedder
from dembias.opinion_map.params import DEFAULT_ENGINE, DEFAULT_SEEDS, MapParams
from dembias.workspace.debates import debate_ids


@app.command("map")
def map_command(
    debate: Annotated[
        list[str] | None, typer.Option("--debate", help="Debate id (repeatable; default: every debate).")
    ] = None,
    embedder: Annotated[
        str,
        typer.Option(help="use-multilingual, sentence-transformers:<model id or path>, or a registered embedder."),
    ] = DEFAULT_EMBEDDER,
    device: Annotated[str | None, typer.Option(help="cuda, mps or cpu (default: the best present).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Embedding batch size (sentence-transformers).")] = 64,
    seeds: Annotated[
        int, typer.Option(min=1, help="Seeds for the stability check (the first gives the clusters).")
    ] = DEFAULT_SEEDS,
    first_seed: Annotated[
        int, typer.Option(min=0, help="First seed (UMAP, HDBSCAN, vote groups); recorded in the run.")
    ] = 0,
    min_cluster_size: Annotated[
        int | None, typer.Option(min=2, help="HDBSCAN min_cluster_size (default: scaled to the debate).")
    ] = None,
    vote_engine: Annotated[
        str,
        typer.Option(help="Vote groups engine: auto (red-dwarf unless the matrix is huge), reddwarf or dembias."),
    ] = DEFAULT_ENGINE,
    include_rejected: Annotated[
        bool, typer.Option("--include-rejected", help="Map moderated-out (rejected) contributions too.")
    ] = False,
    workspace: WorkspaceOption = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
) -> None:
    """Embed (cached), map (UMAP) and cluster (HDBSCAN) debates; add vote groups where votes exist."""
    ws = workspace_from(workspace)
    params = MapParams(
        n_seeds=seeds,
        first_seed=first_seed,
        min_cluster_size=min_cluster_size,
        vote_engine=vote_engine,
        embedder_spec=embedder,
        include_rejected=include_rejected,
    )
    models = StageModels(embedder=get_embedder(embedder, device=device, batch_size=batch_size))
    summaries = [
        opinion_map.run(ws, debate_id=debate_id, params=params, models=models, progress=progress).details
        for debate_id in (debate or debate_ids(ws))
    ]
    records = [s.to_dict() for s in summaries]
    report_stale_runs(ws, [s.debate_id for s in summaries], skip=frozenset(s.run_id for s in summaries))
    if json_output:
        emit_json(records)
        return
    for r in records:
        line = (
            f"{r['debate_id']}: {r['n_clusters']} clusters, noise {r['noise_share']:.0%}, "
            f"stability ARI {r['stability_ari'] if r['stability_ari'] is not None else float('nan'):.2f}, "
            f"NMI(language) {r['nmi_language']:.2f}"
        )
        if "vote_groups_ari_vs_published" in r and r["vote_groups_ari_vs_published"] is not None:
            line += f", vote groups ARI vs published {r['vote_groups_ari_vs_published']:.2f}"
        typer.echo(f"{line}  [{r['run_id']}]")  # warnings went to stderr as the map ran
