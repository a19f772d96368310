"""End-to-end benchmark at a given size: generate, ingest, embed, map, outputs, pluralism, validate, fidelity.

    .venv/bin/python benchmarks/pipeline.py --n 10000
    .venv/bin/python benchmarks/pipeline.py --n 100000 --dir /tmp/pipe100k --json /tmp/pipe100k.json

Each stage runs in its own child process (``--stage``), which reports its wall time and its own peak
resident memory (``RUSAGE_SELF`` max RSS at exit), so stages do not inherit each other's memory.
Mapping uses the default embedder (``use-multilingual``, cached by the embed stage) with
``MapParams(n_seeds=2)`` by default: two seeds at every size so the growth curve compares like with
like (five seeds cost 2.5x the clustering time). Above ``sample_threshold`` (20,000) points UMAP is
fitted on a seeded sample and the rest transformed. The workspace is kept in ``--dir`` (the
dashboard benchmark can reuse it with ``--workspace DIR/ws``).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

STAGES = ("generate", "ingest", "embed", "map", "outputs", "pluralism", "validate", "fidelity")
HERE = Path(__file__).resolve().parent


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_stage(
    stage: str, folder: Path, n: int, seeds: int, embedder_spec: str, sample_threshold: int = 20_000
) -> dict[str, Any]:
    """Run one stage in this process; returns rows processed and stage-specific notes."""
    sys.path.insert(0, str(HERE))
    from dembias.workspace.folder import Workspace

    ws = Workspace(folder / "ws")
    corpus = folder / "corpus"
    debate_id = f"gen{n}"
    if stage == "generate":
        from generate_corpus import generate_corpus

        truth = generate_corpus(n, corpus, seed=0)
        return {"rows": n + int(truth["n_votes"]), "note": f"{truth['n_votes']:,} votes"}
    truth = json.loads((corpus / "truth.json").read_text())
    if stage == "ingest":
        from dembias.ingest import ingest_contributions

        counts = ingest_contributions(
            ws, corpus / "contributions.csv", debate_id=debate_id, votes_path=corpus / "votes.csv", replace=True
        )[debate_id]
        return {"rows": n + int(truth["n_votes"]), "note": f"{counts.get('votes', 0):,} votes kept"}
    from dembias.models.embedders import get_embedder

    embedder = get_embedder(embedder_spec)
    if stage == "embed":
        from dembias.opinion_map.embed import embed_debate

        _, result = embed_debate(ws, debate_id, embedder)
        return {"rows": n, "note": f"{len(result.matrix):,} vectors, {result.n_new:,} distinct texts embedded"}
    if stage == "map":
        from dembias import opinion_map
        from dembias.models.bundle import StageModels
        from dembias.opinion_map.params import MapParams

        params = MapParams(n_seeds=seeds, sample_threshold=sample_threshold, embedder_spec=embedder_spec)
        info = opinion_map.run(ws, debate_id=debate_id, params=params, models=StageModels(embedder=embedder))
        summary = info.details
        d = summary.diagnostics
        return {
            "rows": n,
            "note": f"{int(d['n_clusters'])} clusters, noise {d['noise_share']:.0%}, ARI {d['stability_ari']:.2f}, "
            f"{seeds} seeds",
        }
    if stage == "outputs":
        from dembias.ingest import ingest_outputs

        stored = ingest_outputs(ws, corpus / "outputs.jsonl", replace=True)
        return {"rows": stored, "note": f"{stored} outputs"}
    if stage == "pluralism":
        from dembias import pluralism
        from dembias.errors import NothingToDo
        from dembias.models.bundle import StageModels

        try:
            scored = pluralism.run(
                ws, debate_id=debate_id, params=pluralism.PluralismParams(), models=StageModels(embedder=embedder)
            ).details
        except NothingToDo:
            scored = []
        return {"rows": n, "note": f"{len(scored)} summaries scored (bootstrap 1,000, placebo 20)"}
    if stage == "validate":
        from dembias.pluralism.validate import validate_debate

        _, checks, controls = validate_debate(ws, debate_id)
        failed = sum(not c.passed for c in checks)
        return {"rows": n, "note": f"{len(controls)} controls, {len(checks) - failed} of {len(checks)} checks pass"}
    if stage == "fidelity":
        from dembias import fidelity
        from dembias.models.bundle import StageModels

        params = fidelity.FidelityParams(embedder_spec=embedder_spec)
        info = fidelity.run(ws, debate_id=debate_id, params=params, models=StageModels(embedder=embedder))
        pairs = len(info.details.pairs)
        return {"rows": pairs, "note": f"{pairs} rewrites"}
    raise SystemExit(f"unknown stage {stage!r}")


def stage_in_child(
    stage: str, folder: Path, n: int, seeds: int, embedder_spec: str, sample_threshold: int = 20_000
) -> dict[str, Any]:
    """Run ``stage`` in a child process; returns seconds, rows, rows/s, peak MiB and a note."""
    started = time.perf_counter()
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--stage",
            stage,
            "--dir",
            str(folder),
            "--n",
            str(n),
            "--seeds",
            str(seeds),
            "--embedder",
            embedder_spec,
            "--sample-threshold",
            str(sample_threshold),
        ],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - started
    if out.returncode != 0:
        raise RuntimeError(f"stage {stage} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result.update(stage=stage, size=n, seconds=seconds, rows_per_s=result["rows"] / seconds if seconds else 0.0)
    return result


def print_table(results: list[dict[str, Any]]) -> None:
    """One line per stage."""
    print(f"{'stage':10} {'size':>9} {'seconds':>9} {'CPU s':>8} {'rows/s':>11} {'peak MiB':>9}  note")
    for r in results:
        print(
            f"{r['stage']:10} {r['size']:>9,} {r['seconds']:>9.1f} {r.get('cpu_s', 0):>8.1f} {r['rows_per_s']:>11,.0f} "
            f"{r['peak_mib']:>9,.0f}  "
            f"{r.get('note', '')}",
            flush=True,
        )


def run_pipeline(
    n: int,
    folder: Path,
    *,
    seeds: int = 2,
    embedder_spec: str = "use-multilingual",
    sample_threshold: int = 20_000,
    stages: tuple[str, ...] = STAGES,
    verbose: bool = True,
) -> list[dict[str, Any]]:
    """Every stage at size ``n`` in ``folder``; returns the per-stage results."""
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    if verbose:
        print(f"{'stage':10} {'size':>9} {'seconds':>9} {'CPU s':>8} {'rows/s':>11} {'peak MiB':>9}  note", flush=True)
    for stage in stages:
        r = stage_in_child(stage, folder, n, seeds, embedder_spec, sample_threshold)
        results.append(r)
        if verbose:
            print(
                f"{r['stage']:10} {r['size']:>9,} {r['seconds']:>9.1f} {r.get('cpu_s', 0):>8.1f} {r['rows_per_s']:>11,.0f} "
                f"{r['peak_mib']:>9,.0f}  {r.get('note', '')}",
                flush=True,
            )
    total = sum(r["seconds"] for r in results)
    peak = max(r["peak_mib"] for r in results)
    if verbose:
        cpu = sum(r.get("cpu_s", 0) for r in results)
        print(f"{'total':10} {n:>9,} {total:>9.1f} {cpu:>8.1f} {n / total:>11,.0f} {peak:>9,.0f}", flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    """Command line of the pipeline benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, help="working folder (kept; default /tmp/dembias_pipeline_N)")
    parser.add_argument("--seeds", type=int, default=2, help="mapping seeds (default 2 at every size)")
    parser.add_argument("--embedder", default="use-multilingual")
    parser.add_argument("--sample-threshold", type=int, default=20_000, help="UMAP fit sample above this size")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    folder = args.dir or Path(f"/tmp/dembias_pipeline_{args.n}")
    if args.stage:
        result = run_stage(args.stage, folder, args.n, args.seeds, args.embedder, args.sample_threshold)
        result["peak_mib"] = _peak_mib()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        result["cpu_s"] = usage.ru_utime + usage.ru_stime
        print(json.dumps(result))
        return
    results = run_pipeline(
        args.n, folder, seeds=args.seeds, embedder_spec=args.embedder, sample_threshold=args.sample_threshold
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    sys.exit(main())
