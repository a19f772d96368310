"""``dembias benchmark run spec.yaml``: generate what is missing, score it, write the model x debate x language table.

The spec (:mod:`dembias.jobs.benchmark_spec`, format in ``docs/benchmark.md``) names models, debates, tasks
(with their prompt ids and, for translations, target languages) and a number of samples. A run:

1. **generates** every (model, debate, task, language, prompt, sample) with
   :func:`dembias.generation.run` per prompt x sample: resumable through the per-setting checkpoints, so a
   second run generates nothing that a first run finished;
2. **scores** the summaries with :func:`dembias.pluralism.run` (pluralism) and the rewrites and
   translations with :func:`dembias.fidelity.run` (fidelity), one run each per
   debate, as ``dembias score`` does;
3. **tabulates** every metric per (task, debate, language, model), over all prompts and per prompt,
   with the mean over samples, the between-sample SD, min-max and a 95% Student-t interval over the
   sample scores (:func:`dembias.read.sample_spread.spread_by_levels`; n = samples), and writes
   ``table.csv`` (numeric value/low/high columns) and ``table.json`` to the spec's ``output`` folder.

The language of a summary is its debate's language; of a translation, its target language; of a
reformulation, its source contribution's language.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from dembias.errors import DembiasError
from dembias.generation import GenerationParams, variants
from dembias.generation import run as generate
from dembias.jobs.benchmark_spec import BenchmarkSpec, ModelEntry, TaskEntry
from dembias.models.bundle import StageModels
from dembias.models.causal_lm import DecodingParams, TextGenerator, load_generator
from dembias.models.openai_api import ServerOptions
from dembias.read.export import neutralise_cell
from dembias.read.queries import debates_table, output_variants
from dembias.read.sample_spread import (
    FIDELITY_LEVELS,
    PLURALISM_LEVELS,
    SPREAD_COLUMNS,
    fidelity_sample_scores,
    pluralism_sample_scores,
    spread_by_levels,
    spread_records,
)
from dembias.small_cells import MIN_CELL
from dembias.workspace.folder import Workspace
from dembias.workspace.stage import Progress, progress_or_silent

#: The table's grouping columns (a row per prompt, and one over all prompts with prompt_id empty).
TABLE_KEYS = ("task", "debate_id", "language", "model_spec", "model")
TABLE_COLUMNS = (
    *TABLE_KEYS,
    "prompt_id",
    "metric",
    "value",
    "low",
    "high",
    "sd",
    "min",
    "max",
    "n_samples",
    "n_outputs",
)
INTERVAL_NOTE = (
    "value: mean over the sampled runs; low-high: 95% Student-t interval over their scores (n = n_samples: "
    "the samples of one prompt, or every prompt's samples on the all-prompts row, prompt_id empty)"
)


@dataclass
class BenchmarkResult:
    """What a benchmark run did and where its table is."""

    table: pd.DataFrame
    csv: Path
    json: Path
    generated: int
    resumed: int
    outputs: int
    runs: dict[str, list[str]]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (without the table)."""
        return {
            "csv": str(self.csv),
            "json": str(self.json),
            "rows": len(self.table),
            "generated": self.generated,
            "resumed": self.resumed,
            "outputs": self.outputs,
            "runs": self.runs,
            "seconds": self.seconds,
        }


def run_benchmark(spec: BenchmarkSpec, ws: Workspace, *, progress: Progress | None = None) -> BenchmarkResult:
    """Generate what is missing, score it and write the table (see the module docstring)."""
    say = progress_or_silent(progress)
    started = time.perf_counter()
    _check_debates(spec, ws)
    made = generate_missing(spec, ws, progress=say)
    variants = output_variants(ws, list(made["output_id"]))
    variants = variants.merge(made[["output_id", "model_spec"]], on="output_id", how="inner")
    if variants.empty:
        raise DembiasError(f"{spec.path}: the benchmark made no output to score (every answer was empty?)")
    runs: dict[str, list[str]] = {"pluralism": [], "fidelity": []}
    long = pd.concat(
        [_score_summaries(spec, ws, variants, runs, say), _score_rewrites(spec, ws, variants, runs, say)],
        ignore_index=True,
    )
    table = benchmark_table(long, variants, debate_languages=_debate_languages(ws))
    csv_path, json_path = write_table(table, spec, ws)
    say(f"benchmark: {len(table)} rows -> {csv_path}")
    return BenchmarkResult(
        table=table,
        csv=csv_path,
        json=json_path,
        generated=int(made["generated"].sum()),
        resumed=int(made["resumed"].sum()),
        outputs=len(variants),
        runs=runs,
        seconds=round(time.perf_counter() - started, 2),
    )


def _check_debates(spec: BenchmarkSpec, ws: Workspace) -> None:
    known = set(debates_table(ws)["debate_id"]) if ws.corpus_path.exists() else set()
    for i, debate in enumerate(spec.debates):
        if debate not in known:
            raise DembiasError(
                f"{spec.path}: debates[{i}]: unknown debate {debate!r} in {ws.root}; known: {sorted(known)}"
            )


def _debate_languages(ws: Workspace) -> dict[str, str]:
    frame = debates_table(ws)
    return {
        d: (lang if isinstance(lang, str) else "")
        for d, lang in zip(frame["debate_id"], frame["language"], strict=True)
    }


# --------------------------------------------------------------------------------------------------
# generation


def load_entry(entry: ModelEntry) -> TextGenerator:
    """Load a spec's model: in-process, or behind an OpenAI-compatible server (``openai:<name>`` with ``base_url``)."""
    server = ServerOptions(base_url=entry.base_url) if entry.base_url else None
    return load_generator(entry.spec, device=entry.device, threads=entry.threads, server=server)


def _decoding(spec: BenchmarkSpec, task: TaskEntry) -> DecodingParams:
    options = {k: v for k, v in spec.decoding.items() if k != "sample"}
    max_new = task.max_new_tokens or (256 if task.task == "summary" else 96)
    return DecodingParams(max_new_tokens=max_new, do_sample=spec.do_sample, **options)


def generate_missing(spec: BenchmarkSpec, ws: Workspace, *, progress: Progress) -> pd.DataFrame:
    """Generate every setting of the spec (resuming finished ones); one row per planned output.

    Columns: output_id, model_spec, generated and resumed (the counts of the output's (prompt,
    sample) run, on the first output of that run and 0 on the others, so that their sums are totals).
    """
    rows = []
    for entry in spec.models:
        progress(f"benchmark: loading {entry.spec}")
        lm = load_entry(entry)
        for debate in spec.debates:
            for task in spec.tasks:
                for language in task.languages or (None,):
                    params = GenerationParams(
                        task=task.task, model=entry.spec, target_language=language, limit=task.limit,
                        sample_per_cluster=task.sample_per_cluster, strata=task.strata,
                        decoding=_decoding(spec, task), batch_size=entry.batch_size,
                        context_tokens=task.context_tokens,
                    )  # fmt: skip
                    results = [
                        generate(
                            ws,
                            debate_id=debate,
                            params=one,
                            models=StageModels(generator=lm),
                            provenance={"benchmark": str(spec.path)},
                        ).details
                        for one in variants(params, prompt_ids=task.prompts, samples=spec.samples)
                    ]
                    rows.extend(
                        {"output_id": oid, "model_spec": entry.spec, "generated": r.generated, "resumed": r.resumed}
                        for r in results
                        for oid in r.output_ids[:1]
                    )
                    rows.extend(
                        {"output_id": oid, "model_spec": entry.spec, "generated": 0, "resumed": 0}
                        for r in results
                        for oid in r.output_ids[1:]
                    )
                    done = sum(r.generated for r in results)
                    progress(f"benchmark: {entry.spec} {debate} {task.task} {language or ''}: {done} generated")
    return pd.DataFrame(rows, columns=["output_id", "model_spec", "generated", "resumed"])


# --------------------------------------------------------------------------------------------------
# scoring


def _score_summaries(
    spec: BenchmarkSpec, ws: Workspace, variants: pd.DataFrame, runs: dict[str, list[str]], say: Progress
) -> pd.DataFrame:
    """Pluralism of the benchmark's summaries, one scoring run per debate; the long per-output frame."""
    from dataclasses import replace

    from dembias import pluralism
    from dembias.errors import NothingToDo

    options = spec.scoring
    params = pluralism.PluralismParams(
        n_resamples=options.get("resamples", 1000), n_placebo=options.get("placebo", 20),
        seed=options.get("seed", 0), min_cell=options.get("min_cell", MIN_CELL),
    )  # fmt: skip
    parts = []
    for debate, part in variants[variants["task"] == "summary"].groupby("debate_id", sort=True):
        try:
            run = pluralism.run(
                ws, debate_id=debate, params=replace(params, output_ids=tuple(part["output_id"])),
                progress=say, provenance={"benchmark": str(spec.path)},
            )  # fmt: skip
        except NothingToDo as nothing:
            say(str(nothing))
            continue
        runs["pluralism"].append(run.run_id)
        parts.extend(run.details)
    if not parts:
        return pd.DataFrame()
    long = pluralism_sample_scores(pluralism_scores_frame(parts), variants)
    return long.assign(task="summary")


def _score_rewrites(
    spec: BenchmarkSpec, ws: Workspace, variants: pd.DataFrame, runs: dict[str, list[str]], say: Progress
) -> pd.DataFrame:
    """Fidelity of the benchmark's reformulations and translations, one run per debate; the long frame."""
    from dembias import fidelity
    from dembias.models.bundle import StageModels

    options = spec.scoring
    mine = variants[variants["task"] != "summary"]
    params = fidelity.FidelityParams(
        **({"embedder_spec": options["embedder"]} if "embedder" in options else {}),
        n_null=options.get("n_null", 500), min_cell=options.get("min_cell", MIN_CELL),
        n_resamples=options.get("resamples", 1000), seed=options.get("seed", 0),
    )  # fmt: skip
    models, parts = StageModels(), []
    for debate in sorted(set(mine["debate_id"])):
        info = fidelity.run(
            ws, debate_id=debate, params=params, models=models, progress=say,
            provenance={"benchmark": str(spec.path)},
        )  # fmt: skip
        runs["fidelity"].append(info.run_id)
        parts.append(info.details.pairs[info.details.pairs["output_id"].isin(set(mine["output_id"]))])
    if not parts:
        return pd.DataFrame()
    pairs = pd.concat(parts, ignore_index=True)
    return fidelity_sample_scores(pairs, variants).rename(columns={"target_language": "language"})


# --------------------------------------------------------------------------------------------------
# the table


def benchmark_table(long: pd.DataFrame, variants: pd.DataFrame, *, debate_languages: dict[str, str]) -> pd.DataFrame:
    """The model x debate x language table: one row per (task, debate, language, model, prompt or all, metric).

    ``long``: per-output scores (output_id, debate_id, metric, value, sample, prompt_id, model, task and,
    for rewrites, language); ``variants`` gives each output's ``model_spec``. Summaries take their
    debate's language. Columns: :data:`TABLE_COLUMNS` (``prompt_id`` empty on the all-prompts row).
    """
    if long.empty:
        return pd.DataFrame(columns=list(TABLE_COLUMNS))
    frame = long.drop(columns=[c for c in ("model_spec",) if c in long.columns])
    frame = frame.merge(variants[["output_id", "model_spec"]], on="output_id", how="left")
    if "language" not in frame.columns:
        frame["language"] = None
    summary_language = frame["debate_id"].map(debate_languages).fillna("")
    frame["language"] = frame["language"].where(frame["task"] != "summary", summary_language).fillna("")
    spread = spread_by_levels(frame, levels=[TABLE_KEYS, (*TABLE_KEYS, "prompt_id")])
    spread = spread.rename(columns={"mean": "value"})
    spread["prompt_id"] = spread["prompt_id"].fillna("")
    ordered = spread[list(TABLE_COLUMNS)]
    return ordered.sort_values([*TABLE_KEYS, "metric", "prompt_id"], kind="stable").reset_index(drop=True)


def write_table(table: pd.DataFrame, spec: BenchmarkSpec, ws: Workspace) -> tuple[Path, Path]:
    """Write ``table.csv`` and ``table.json`` into the spec's output folder; return their paths."""
    spec.output.mkdir(parents=True, exist_ok=True)
    csv_path, json_path = spec.output / "table.csv", spec.output / "table.json"
    text_columns = [c for c in table.columns if c not in ("value", "low", "high", *SPREAD_COLUMNS)]
    rounded = table.copy()
    numbers = ["value", "low", "high", "sd", "min", "max"]
    rounded[numbers] = rounded[numbers].astype(float).round(6)
    safe = rounded.copy()
    safe[text_columns] = safe[text_columns].map(neutralise_cell)
    safe.to_csv(csv_path, index=False)
    records = json.loads(rounded.to_json(orient="records", force_ascii=False))
    payload = {
        "spec": str(spec.path),
        "workspace": str(ws.root),
        "samples": spec.samples,
        "interval": INTERVAL_NOTE,
        "rows": records,
    }
    json_path.write_text(json.dumps(payload, ensure_ascii=False, indent=1), encoding="utf-8")
    return csv_path, json_path


# --------------------------------------------------------------------------------------------------
# the by_model blocks of `dembias score pluralism --json --by-model` and `dembias score fidelity --json`


def pluralism_scores_frame(scored: Sequence[Any]) -> pd.DataFrame:
    """One row per (scored output, metric): output_id, debate_id, model, metric, value (from OutputScores)."""
    parts = [
        s.result.scores[["metric", "value"]].assign(output_id=s.output_id, debate_id=s.debate_id, model=s.model)
        for s in scored
    ]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["output_id", "metric", "value"])


def pluralism_spread(ws: Workspace, scored: Sequence[Any]) -> list[dict[str, Any]]:
    """Per debate x model, and per debate x model x prompt: each pluralism metric's spread across samples."""
    if not scored:
        return []
    scores = pluralism_scores_frame(scored)
    variants = output_variants(ws, sorted(set(scores["output_id"])))
    long = pluralism_sample_scores(scores, variants)
    return spread_records(spread_by_levels(long, levels=PLURALISM_LEVELS))


def fidelity_spread(ws: Workspace, runs: Sequence[Any]) -> list[dict[str, Any]]:
    """Per debate x task x language x model (and x prompt): each fidelity measure's spread across samples."""
    pairs = [run.pairs for run in runs if not run.pairs.empty]
    if not pairs:
        return []
    frame = pd.concat(pairs, ignore_index=True)
    variants = output_variants(ws, sorted(set(frame["output_id"])))
    long = fidelity_sample_scores(frame, variants)
    return spread_records(spread_by_levels(long, levels=FIDELITY_LEVELS))
