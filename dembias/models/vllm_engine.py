"""Offline batch generation with vLLM on a CUDA GPU (``--engine vllm``; extra: ``pip install "dembias[vllm]"``).

vLLM schedules all the prompts of a ``generate`` call together (continuous batching, paged KV cache),
which is far faster than transformers' padded batches on a GPU. :class:`VllmModel` is a
:class:`~dembias.models.causal_lm.LoadedModel` whose ``generate`` runs ``vllm.LLM.generate``; prompts are
rendered with the model's own chat template exactly as the transformers engine renders them, so the
two engines see the same text. vLLM is imported lazily and never installed by default: without it, or
without a visible CUDA GPU, loading fails with a :class:`~dembias.errors.DembiasError` that says what to
do instead.
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dembias.errors import DembiasError
from dembias.models.causal_lm import (
    DEFAULT_MODEL,
    SMOLLM2_NAME,
    DecodingParams,
    Generation,
    LoadedModel,
    file_fingerprint,
    smollm2_gguf,
)

#: Share of GPU memory vLLM may take for weights and KV cache.
GPU_MEMORY_UTILIZATION = 0.85


def check_vllm_ready() -> None:
    """Raise a clear DembiasError when vLLM is not installed or no CUDA GPU is visible."""
    if importlib.util.find_spec("vllm") is None:
        raise DembiasError(
            '--engine vllm needs vLLM, which is never installed by default: pip install "dembias[vllm]" on a '
            "machine with a CUDA GPU; here, use --engine transformers or a server (--model openai:<name> --base-url)"
        )
    import torch

    if not torch.cuda.is_available():
        raise DembiasError(
            "--engine vllm needs a CUDA GPU and none is visible here (torch.cuda.is_available() is False); "
            "use --engine transformers, or a server (--model openai:<name> --base-url)"
        )


@dataclass
class VllmModel(LoadedModel):
    """A vLLM engine (``model`` is the ``vllm.LLM``) with LoadedModel's tokenizer-based helpers."""

    def generate(self, conversations: Sequence[list[dict[str, str]]], *, decoding: DecodingParams) -> list[Generation]:
        """Answer each conversation in one vLLM batch."""
        from vllm import SamplingParams

        params = SamplingParams(
            n=1,
            max_tokens=decoding.max_new_tokens,
            temperature=decoding.temperature if decoding.do_sample else 0.0,
            top_p=decoding.top_p if decoding.do_sample else 1.0,
            seed=decoding.seed,
            repetition_penalty=decoding.repetition_penalty,
        )
        prompts = [self.render(m) for m in conversations]
        start = time.perf_counter()
        outputs = self.model.generate(prompts, params, use_tqdm=False)
        seconds = time.perf_counter() - start
        return [
            Generation(
                text=out.outputs[0].text.strip(),
                prompt_tokens=len(out.prompt_token_ids or []),
                new_tokens=len(out.outputs[0].token_ids),
                seconds=seconds / len(prompts),
                batch_seconds=seconds,
                batch_size=len(prompts),
            )
            for out in outputs
        ]

    def run_info(self) -> dict[str, Any]:
        """What every output of a run records about the engine."""
        import vllm

        return {"engine": "vllm", "vllm_version": vllm.__version__}


def load_vllm_model(spec: str = DEFAULT_MODEL, *, device: str | None = None) -> VllmModel:
    """Load a model into vLLM: ``"smollm2"`` (its GGUF file), a model id or a local folder."""
    check_vllm_ready()
    if device and not device.startswith("cuda"):
        raise DembiasError(f"--engine vllm runs on a CUDA GPU; --device {device} is not one")
    from vllm import LLM

    if spec == DEFAULT_MODEL:
        gguf = smollm2_gguf()
        target, name, revision = str(gguf), SMOLLM2_NAME, file_fingerprint([gguf])
    else:
        target, name, revision = spec, spec, "unknown"
        local = Path(spec)
        if local.is_dir():
            weights = [p for p in local.iterdir() if p.suffix in (".safetensors", ".bin", ".gguf", ".pt")]
            name, revision = local.resolve().name, file_fingerprint(weights) if weights else "local"
    try:
        llm = LLM(model=target, gpu_memory_utilization=GPU_MEMORY_UTILIZATION)
    except (OSError, ValueError, RuntimeError) as exc:
        raise DembiasError(f"vLLM cannot load model {spec!r}: {exc}") from exc
    tokenizer = llm.get_tokenizer()
    context = int(llm.llm_engine.model_config.max_model_len)
    return VllmModel(
        name=name,
        revision=f"{revision} (vllm)",  # vLLM's kernels answer differently: its outputs get their own ids
        model=llm,
        tokenizer=tokenizer,
        device="cuda",
        context_tokens=context,
        spec=spec,
    )
