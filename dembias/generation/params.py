"""The options of one generation run (:class:`GenerationParams`), and the (prompt, sample) variants of several.

Repeated samples: sample k of a run samples with :func:`sample_seed` (sample 0 with the run's own seed);
each output's ``params`` record ``sample`` and ``seed``, and each (prompt, sample) has its own checkpoint.
Greedy decoding with more than one sample is refused (the samples would be copies). See ``docs/benchmark.md``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from dembias.errors import DembiasError
from dembias.generation.prompts import get_prompt
from dembias.ingest.outputs import TASKS
from dembias.models.causal_lm import DEFAULT_MODEL, DecodingParams
from dembias.models.openai_api import ServerOptions
from dembias.validation import check_at_least, normalise_language

#: The smallest value of each numeric option.
_MINIMUMS = {"limit": 1, "sample_per_cluster": 1, "batch_size": 1, "context_tokens": 64, "threads": 1, "sample": 0}


@dataclass(frozen=True)
class GenerationParams:
    """Every option of one generation run (:func:`dembias.generation.run`), checked when made.

    - ``task``: ``summary``, ``reformulation`` or ``translation``; ``target_language``: translations only
      (a BCP 47 code, normalised).
    - ``model``: what :func:`dembias.models.causal_lm.load_generator` loads (``"smollm2"``, a transformers
      id or folder, ``openai:<name>``) with ``engine``, ``device``, ``threads`` and, for a server,
      ``server``; a generator handed to ``run`` must be this model (its ``spec``).
    - ``prompt_id``: the versioned prompt (``None``: the task's default).
    - ``limit``, ``sample_per_cluster``, ``strata``: which contributions
      (:func:`dembias.generation.inputs.stratified_contributions`; drawn with ``decoding.seed``).
    - ``decoding``: ``None`` is greedy with 256 new tokens for summaries, 96 otherwise; ``sample``: the
      index of a repeated sample (above 0 needs sampling), which seeds it with :func:`sample_seed`.
    - ``batch_size``: prompts per generate call; ``context_tokens``: prompt budget of a summary
      (``None``: the model's context, at most 2,048).
    - ``checkpoint``: the JSONL checkpoint (``None``: a path under ``<workspace>/generations`` that depends
      only on the options that shape the outputs, so a re-run resumes); ``store``: store the outputs in
      the corpus at the end.
    """

    task: str
    model: str = DEFAULT_MODEL
    engine: str | None = None
    device: str | None = None
    threads: int | None = None
    server: ServerOptions | None = None
    prompt_id: str | None = None
    target_language: str | None = None
    limit: int | None = None
    sample_per_cluster: int | None = None
    strata: str = "auto"
    decoding: DecodingParams | None = None
    sample: int = 0
    batch_size: int = 8
    context_tokens: int | None = None
    checkpoint: Path | None = None
    store: bool = True

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise DembiasError(f"unknown task {self.task!r}; expected one of {list(TASKS)}")
        for name, minimum in _MINIMUMS.items():
            if getattr(self, name) is not None:
                check_at_least(name, getattr(self, name), minimum)
        language = normalise_language(self.target_language) if self.target_language else None
        if self.task == "translation" and not language:
            raise DembiasError("a translation needs --target-language")
        if self.task != "translation" and language:
            raise DembiasError("--target-language is only for translations")
        object.__setattr__(self, "target_language", language)
        if self.checkpoint is not None:
            object.__setattr__(self, "checkpoint", Path(self.checkpoint))

    def chosen_decoding(self) -> DecodingParams:
        """The decoding asked for (the task's default when none was given), before the sample's seed."""
        return self.decoding or DecodingParams(max_new_tokens=256 if self.task == "summary" else 96)

    def sample_decoding(self) -> DecodingParams:
        """The decoding this run samples with: :meth:`chosen_decoding` with the sample's seed."""
        decoding = self.chosen_decoding()
        if self.sample > 0 and not decoding.do_sample:
            raise DembiasError(
                "repeated samples need sampling (--sample, temperature > 0): greedy decoding makes the same "
                "output every time, so samples 1.. would repeat sample 0"
            )
        return replace(decoding, seed=sample_seed(decoding.seed, self.sample))


def sample_seed(seed: int, sample: int) -> int:
    """The sampling seed of sample ``sample`` of a run with seed ``seed``.

    Sample 0 uses the run's seed itself (so a single-sample run makes the same outputs as before
    ``--samples`` existed); sample k > 0 uses a seed derived from (seed, k) by sha256, so the samples of
    seed 0 never coincide with those of seed 1.
    """
    check_at_least("sample", sample, 0)
    if sample == 0:
        return seed
    digest = hashlib.sha256(f"dembias-sample:{seed}:{sample}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (2**31 - 1)


def variants(
    params: GenerationParams, *, prompt_ids: Sequence[str | None] = (None,), samples: int = 1
) -> list[GenerationParams]:
    """``params`` for every prompt id x sample 0..``samples``-1, checked before any model is loaded.

    A caller loads the model once and calls :func:`dembias.generation.run` with each (``--samples N``,
    a benchmark). More than one sample needs sampling (greedy repeats would be identical).
    """
    check_at_least("samples", samples, 1)
    ids = list(dict.fromkeys(prompt_ids or [None]))
    if samples > 1 and not (params.decoding and params.decoding.do_sample):
        raise DembiasError(
            f"--samples {samples} needs sampling (--sample, temperature > 0): greedy decoding makes the "
            "same output every time"
        )
    for prompt_id in ids:
        get_prompt(prompt_id, task=params.task)
    return [replace(params, prompt_id=prompt_id, sample=k) for prompt_id in ids for k in range(samples)]
