"""Loading a transformers NLI model and computing label probabilities in batches.

One place for the forward pass shared by pluralism linking (:class:`dembias.align.NliModel`) and fidelity
scoring (:class:`dembias.metrics.fidelity.NLIScorer`); each of those decides which labels it reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


def load_nli(name_or_path: str, *, device: str | None = None) -> tuple[Any, Any, str]:
    """(tokenizer, model in eval mode on its device, device) for a model id or a local folder."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from dembias.embed import pick_device

    device = pick_device(device)
    local = Path(name_or_path).expanduser()
    source = str(local) if local.exists() else name_or_path
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForSequenceClassification.from_pretrained(source).to(device).eval()
    return tokenizer, model, device


def nli_probabilities(
    model: Any,
    tokenizer: Any,
    premises: Sequence[str],
    hypotheses: Sequence[str],
    *,
    device: str,
    batch_size: int,
    max_length: int = 256,
) -> np.ndarray:
    """Softmax label probabilities (pairs x labels) of ``premise => hypothesis``, batched, no gradients."""
    import torch

    if len(premises) != len(hypotheses):
        raise ValueError("premises and hypotheses differ in length")
    chunks = []
    for start in range(0, len(premises), batch_size):
        batch = tokenizer(
            list(premises[start : start + batch_size]),
            list(hypotheses[start : start + batch_size]),
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        ).to(device)
        with torch.no_grad():
            logits = model(**batch).logits.float()
        chunks.append(torch.softmax(logits, dim=-1).cpu().numpy())
    return np.vstack(chunks) if chunks else np.zeros((0, len(model.config.id2label)))
