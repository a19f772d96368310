"""The generation stage: :func:`run` makes the outputs of one debate with one model, prompt and sample.

A run takes contributions of one debate, prompts a causal LM (:mod:`dembias.models.causal_lm`) with a
versioned template (:mod:`dembias.generation.prompts`) and turns every answer into an output record
(:mod:`dembias.ingest.outputs`).

* **Tasks**: ``reformulation`` and ``translation`` make one output per contribution; ``summary`` makes
  one output per debate, map-reduce when the contributions exceed the context budget
  (:mod:`dembias.generation.summaries`). The model is asked to end sentences with bracketed contribution
  ids; they become unit citations, and ids the debate does not have are dropped (and listed in
  ``params["dropped_citations"]``).
* **Resumable**: every finished output is appended to a JSONL checkpoint
  (:mod:`dembias.generation.checkpoints`). Output ids are stable (a hash of model, revision, prompt,
  source ids, target language and decoding parameters), so a killed run started again with the same
  params skips what the checkpoint holds and never duplicates an output. At the end the planned
  outputs are stored in the workspace corpus (those already there are skipped).
* **Repeated samples and prompt variants**: :func:`dembias.generation.params.variants` gives the params
  of every prompt x sample; a caller loads the model once and calls :func:`run` with each.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dembias.errors import DembiasError, NothingToDo
from dembias.generation.checkpoints import (
    append_line,
    default_checkpoint,
    read_checkpoint,
    skipped_path,
    store_checkpoint,
)
from dembias.generation.inputs import debate_contribution_ids, debate_topic, stratified_contributions
from dembias.generation.params import GenerationParams
from dembias.generation.prompts import PromptTemplate, get_prompt, language_name
from dembias.generation.records import GenerateResult, record_run
from dembias.generation.summaries import parse_citations, summarize, timings
from dembias.ingest.outputs import output_id_for
from dembias.models.bundle import StageModels
from dembias.models.causal_lm import DecodingParams, Generation, TextGenerator, load_generator
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import RunInfo
from dembias.workspace.stage import Progress, params_record, progress_or_silent

#: Default context budget of a summary prompt (tokens); small models and CPUs do poorly beyond it.
DEFAULT_SUMMARY_CONTEXT = 2048


class GenerationProgress(str):
    """A progress line of a generation run that carries its counts.

    ``done`` of ``total`` ``unit``: ``"output"`` counts the outputs finished by this invocation
    (``total``: those it had to make); ``"call"`` counts a summary's model calls (``total`` unknown).
    ``label`` is ``"<task> <debate>"``. A caller that only prints lines can ignore all of it.
    """

    done: int
    total: int | None
    unit: str
    label: str

    def __new__(cls, *, label: str, done: int, total: int | None, unit: str) -> GenerationProgress:
        """The line ``"<label>: <done>[/<total>] <unit>s"`` with its counts attached."""
        line = super().__new__(cls, f"{label}: {done}{f'/{total}' if total is not None else ''} {unit}s")
        line.label, line.done, line.total, line.unit = label, done, total, unit
        return line


def run(
    ws: Workspace,
    *,
    debate_id: str,
    params: GenerationParams,
    models: StageModels | None = None,
    progress: Progress | None = None,
    provenance: Any = None,
) -> RunInfo:
    """Generate the outputs ``params`` asks for from one debate, checkpointing each, then store them.

    ``models.generator``, when given, is the model ``params.model`` names, already loaded (a benchmark or
    ``--samples N`` loads once and calls ``run`` per prompt x sample); otherwise it is loaded with
    :func:`~dembias.models.causal_lm.load_generator`. ``progress`` receives a
    :class:`GenerationProgress` line per finished output (and per model call of a summary); an exception
    it raises stops the run with everything written so far kept. A debate without contributions to
    generate from raises :class:`~dembias.errors.NothingToDo`.

    Generation lands no run folder: it appends to the JSONL checkpoint, appends this invocation (with
    ``params`` as :func:`~dembias.workspace.stage.params_record` and ``provenance`` as given) to
    ``<checkpoint>.manifest.json`` and stores the outputs in the corpus. The returned
    :class:`~dembias.workspace.runs.RunInfo` says so: ``run_id`` is :func:`checkpoint_run_id` (the same for
    every invocation on one checkpoint), ``stage`` ``"generation"``, ``created_at`` the first invocation's
    finish time, ``manifest`` that manifest and ``details`` the :class:`GenerateResult`.
    """
    generator = models.generator if models is not None else None
    result, manifest = generate_outputs(
        ws,
        debate_id=debate_id,
        params=params,
        generator=generator,
        progress=progress_or_silent(progress),
        provenance=provenance,
    )
    return RunInfo(
        run_id=checkpoint_run_id(result.out),
        stage="generation",
        debate_id=debate_id,
        created_at=manifest["runs"][0]["finished_at"],
        manifest=manifest,
        details=result,
    )


def checkpoint_run_id(checkpoint: Path) -> str:
    """The run id of a checkpoint: ``generation-`` and a hash of its absolute path."""
    digest = hashlib.sha256(str(Path(checkpoint).resolve()).encode()).hexdigest()[:12]
    return f"generation-{digest}"


# --------------------------------------------------------------------------------------------------
# the steps


def generate_outputs(
    ws: Workspace,
    *,
    debate_id: str,
    params: GenerationParams,
    generator: TextGenerator | None,
    progress: Progress,
    provenance: Any = None,
) -> tuple[GenerateResult, dict[str, Any]]:
    """The stage's steps: check, select, load, generate, store, record. Returns the result and the manifest."""
    decoding = params.sample_decoding()
    template = get_prompt(params.prompt_id, task=params.task)
    started = time.perf_counter()
    contributions, stratification = stratified_contributions(
        ws,
        debate_id,
        limit=params.limit,
        sample_per_cluster=params.sample_per_cluster,
        strata=params.strata,
        seed=params.chosen_decoding().seed,
    )
    if contributions.empty:
        raise NothingToDo(f"debate {debate_id!r} has no contributions to generate from")
    out = _checkpoint(ws, debate_id, params, template, spec=generator.spec if generator else params.model)
    lm = _generator(params, generator)
    run = _Run.start(ws, debate_id, params, lm=lm, template=template, decoding=decoding, out=out, progress=progress)
    if params.task == "summary":
        _generate_summary(run, contributions, params.context_tokens or min(lm.context_tokens, DEFAULT_SUMMARY_CONTEXT))
    else:
        _generate_per_contribution(run, contributions)
    result = GenerateResult(
        out=out,
        planned=len(run.planned),
        generated=run.generated,
        resumed=sum(1 for oid in run.planned if oid in run.done),
        empty=run.empty,
        stored=store_checkpoint(ws, out, run.planned) if params.store else 0,
        stratification=stratification,
        seconds=round(time.perf_counter() - started, 2),
        tokens_per_s=timings(run.generations)["tokens_per_s"],
        output_ids=run.planned,
    )
    facts = {"params": params_record(params), **({"provenance": provenance} if provenance is not None else {})}
    manifest = record_run(
        result, lm, run.generations, task=params.task, debate_id=debate_id, decoding=asdict(decoding), **facts
    )
    return result, manifest


def _checkpoint(
    ws: Workspace, debate_id: str, params: GenerationParams, template: PromptTemplate, *, spec: str
) -> Path:
    """``params.checkpoint``, or the default path of these params (folders made)."""
    out = params.checkpoint
    if out is None:
        key = {
            "model": spec,
            "prompt": template.prompt_id,
            "target_language": params.target_language,
            "limit": params.limit,
            "sample_per_cluster": params.sample_per_cluster,
            "strata": params.strata,
            "decoding": asdict(params.chosen_decoding()),
            "context_tokens": params.context_tokens,
            **({"sample": params.sample} if params.sample else {}),
        }
        out = default_checkpoint(ws, task=params.task, debate_id=debate_id, key=key)
    out.parent.mkdir(parents=True, exist_ok=True)
    return out


def _generator(params: GenerationParams, generator: TextGenerator | None) -> TextGenerator:
    """The given generator (which must be the model ``params`` names), or the one ``params`` names, loaded."""
    if generator is None:
        return load_generator(
            params.model, engine=params.engine, device=params.device, threads=params.threads, server=params.server
        )
    if generator.spec != params.model:
        raise DembiasError(f"the generator given is {generator.spec!r} but the params name model {params.model!r}")
    return generator


@dataclass
class _Run:
    """What one (prompt, sample) generation needs at hand: the model, template, decoding and checkpoint."""

    ws: Workspace
    task: str
    debate_id: str
    lm: TextGenerator
    template: PromptTemplate
    decoding: DecodingParams
    target_language: str | None
    out: Path
    done: dict[str, dict[str, Any]]
    base_params: dict[str, Any]
    batch_size: int
    progress: Progress
    generations: list[Generation] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    generated: int = 0
    empty: int = 0

    @classmethod
    def start(
        cls,
        ws: Workspace,
        debate_id: str,
        params: GenerationParams,
        *,
        lm: TextGenerator,
        template: PromptTemplate,
        decoding: DecodingParams,
        out: Path,
        progress: Progress,
    ) -> _Run:
        """A run reading what the checkpoint ``out`` already holds."""
        base_params = {
            **decoding.identity(), "model_spec": lm.spec, "model_revision": lm.revision, "device": lm.device,
            "batch_size": params.batch_size, **lm.run_info(), "sample": params.sample, "seed": decoding.seed,
        }  # fmt: skip
        return cls(
            ws=ws, task=params.task, debate_id=debate_id, lm=lm, template=template, decoding=decoding,
            target_language=params.target_language, out=out, done=read_checkpoint(out), base_params=base_params,
            batch_size=params.batch_size, progress=progress,
        )  # fmt: skip

    @property
    def label(self) -> str:
        """``"<task> <debate>"``, the label of this run's progress lines."""
        return f"{self.task} {self.debate_id}"

    def output_id(self, source_ids: list[str], extra: dict[str, Any] | None = None) -> str:
        """The stable id of the output made from ``source_ids`` (``extra``: more that defines it)."""
        return output_id_for(
            "generate",
            self.debate_id,
            self.task,
            self.lm.name,
            self.lm.revision,
            self.template.prompt_id,
            source_ids,
            self.target_language,
            self.decoding.identity(),
            extra or {},
        )

    def line(self, oid: str, source_ids: list[str], text: str, params: dict[str, Any]) -> dict[str, Any]:
        """The checkpoint line of one output."""
        line: dict[str, Any] = {
            "output_id": oid,
            "debate_id": self.debate_id,
            "task": self.task,
            "model": self.lm.name,
            "prompt_id": self.template.prompt_id,
            "prompt": self.template.template_text(),
            "params": params,
            "source_ids": source_ids,
            "text": text,
        }
        if self.target_language:
            line["target_language"] = self.target_language
        return line

    def finish(self, line: dict[str, Any], generations: Sequence[Generation], *, empty: bool, total: int) -> None:
        """Append a finished output to the checkpoint (an empty answer to the side file), then say so."""
        if line["text"].strip() and line.get("units", [None]):
            append_line(self.out, line)
        else:
            entry = {"output_id": line["output_id"], "source_ids": line["source_ids"], "empty": True}
            append_line(skipped_path(self.out), entry)
        self.generations.extend(generations)
        self.generated += 1
        self.empty += empty
        self.progress(GenerationProgress(label=self.label, done=self.generated, total=total, unit="output"))


def _generate_summary(run: _Run, contributions: pd.DataFrame, context: int) -> None:
    """One summary of the contributions (map-reduce when long), unless the checkpoint has it."""
    known = set(debate_contribution_ids(run.ws, run.debate_id))
    source_ids = [str(c) for c in contributions["contribution_id"]]
    oid = run.output_id(source_ids, {"context_tokens": context})
    run.planned.append(oid)
    if oid in run.done:
        return
    calls = {"done": 0}

    def called(n: int) -> None:
        calls["done"] += n
        run.progress(GenerationProgress(label=run.label, done=calls["done"], total=None, unit="call"))

    text, info = summarize(
        run.lm,
        contributions,
        topic=debate_topic(run.ws, run.debate_id),
        template=run.template,
        decoding=run.decoding,
        context_tokens=context,
        batch_size=run.batch_size,
        progress=called,
    )
    units, dropped = parse_citations(text, known)
    generations = info.pop("generations")
    params = {**run.base_params, **info, "dropped_citations": dropped, "context_tokens": context}
    line = run.line(oid, source_ids, text, params)
    line["units"] = units
    run.finish(line, generations, empty=not units, total=1)


def _generate_per_contribution(run: _Run, contributions: pd.DataFrame) -> None:
    """One output per contribution (reformulation or translation), in batches, skipping finished ones."""
    language = language_name(run.target_language) if run.target_language else ""
    todo = []
    for cid, text in contributions[["contribution_id", "text"]].values:
        oid = run.output_id([str(cid)])
        run.planned.append(oid)
        if oid not in run.done:
            todo.append((oid, str(cid), str(text)))
    for start in range(0, len(todo), run.batch_size):
        batch = todo[start : start + run.batch_size]
        conversations = [run.template.messages(text=text, language=language) for _, _, text in batch]
        results = run.lm.generate(conversations, decoding=run.decoding)
        for (oid, cid, _), gen in zip(batch, results, strict=True):
            answer_timings = timings([gen]) | {"batch_seconds": round(gen.batch_seconds, 3)}
            line = run.line(oid, [cid], gen.text, {**run.base_params, "timings": answer_timings})
            run.finish(line, [gen], empty=not gen.text, total=len(todo))
