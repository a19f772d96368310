"""What a generation run did: its :class:`GenerateResult`, and the manifest kept next to its checkpoint."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dembias.models.causal_lm import Generation, TextGenerator

DATA_OUTPUTS_DIR = Path(__file__).resolve().parent.parent.parent / "data" / "outputs"


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


def record_run(
    result: GenerateResult, lm: TextGenerator, generations: Sequence[Generation], **facts: Any
) -> dict[str, Any]:
    """Fill the result's token counts and cost, append this invocation to the checkpoint's manifest, and
    return the manifest written.

    The manifest lists every invocation that wrote to the checkpoint (a resumed run adds one) with
    the engine's run info (for a server: base URL, model id, the key's variable name, never the key),
    what the server reported, ``facts`` (task, debate, decoding, the run's ``params`` record and, when
    given, its ``provenance``), tokens, cost and timings, and keeps their totals.
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
    manifest = {"checkpoint": str(result.out), "runs": runs, "totals": totals}
    _write_json(path, manifest)
    result.manifest = path
    return manifest


def _write_json(path: Path, obj: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
    tmp.replace(path)


def demo_outputs_files() -> list[Path]:
    """The committed demo output files (SmolLM2 reformulations and summaries), for ``data/demo.json``."""
    return sorted(DATA_OUTPUTS_DIR.glob("*.jsonl"))
