"""The NLI judge: one transformers sequence-classification model, loaded once, read two ways.

Pluralism linking asks P(unit entails contribution) (:meth:`NliJudge.entailment`); fidelity scoring
asks entailment both ways and whether contradiction wins (:meth:`NliJudge.score_pairs`). Both use the
same loading code and the same batched forward pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dembias.errors import DembiasError
from dembias.models.devices import resolve_device


@dataclass(frozen=True)
class EntailmentScores:
    """Bidirectional NLI scores of aligned (source, output) pairs."""

    forward: np.ndarray  # P(source => output)
    backward: np.ndarray  # P(output => source)
    contradiction_forward: np.ndarray
    contradiction_backward: np.ndarray
    stance_flip: np.ndarray  # bool: contradiction is the most probable label in either direction

    @property
    def minimum(self) -> np.ndarray:
        """min(P(x=>y), P(y=>x)) per pair."""
        return np.minimum(self.forward, self.backward)


def label_index(id2label: Mapping[int, str] | Mapping[str, str], word: str) -> int | None:
    """The one label index whose name contains ``word`` (case-insensitive), None when not exactly one."""
    found = [int(i) for i, name in id2label.items() if word in str(name).lower()]
    return found[0] if len(found) == 1 else None


def nli_label_indices(id2label: Mapping[int, str] | Mapping[str, str]) -> tuple[int, int]:
    """(entailment index, contradiction index) from a model config's ``id2label``."""
    entail, contra = label_index(id2label, "entail"), label_index(id2label, "contradict")
    if entail is None or contra is None:
        raise DembiasError(
            f"not an NLI model: config.id2label {dict(id2label)} needs exactly one label naming entailment "
            "and one naming contradiction"
        )
    return entail, contra


def load_nli(name_or_path: str, *, device: str | None = None) -> tuple[Any, Any, str]:
    """(tokenizer, model in eval mode on its device, device) for a model id or a local folder."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    device = resolve_device(device)
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


@dataclass
class NliJudge:
    """A transformers NLI model (hub id or local path), held for pluralism linking and fidelity scoring.

    The entailment label is found in ``config.id2label`` (the one whose name contains "entail") unless
    given; the contradiction label likewise ("contradict"), needed only by :meth:`score_pairs`.
    """

    model: Any
    tokenizer: Any
    entailment_index: int
    contradiction_index: int | None = None
    device: str = "cpu"
    batch_size: int = 32
    max_length: int = 256
    model_id: str = ""
    revision: str = "unknown"

    @classmethod
    def load(
        cls,
        name_or_path: str,
        *,
        device: str | None = None,
        entailment_index: int | None = None,
        batch_size: int = 32,
        max_length: int = 256,
        require_contradiction: bool = False,
    ) -> NliJudge:
        """Load tokenizer and model onto ``device`` (default: the best present).

        ``require_contradiction`` (fidelity scoring) refuses a model without one entailment and one
        contradiction label.
        """
        tokenizer, model, device = load_nli(name_or_path, device=device)
        id2label = model.config.id2label
        if require_contradiction:
            nli_label_indices(id2label)
        if entailment_index is None:
            entailment_index = label_index(id2label, "entail")
            if entailment_index is None:
                raise DembiasError(
                    f"{name_or_path}: cannot tell which label is entailment from {dict(id2label)}; "
                    "pass entailment_index"
                )
        local = Path(name_or_path).expanduser().exists()
        return cls(
            model=model,
            tokenizer=tokenizer,
            entailment_index=int(entailment_index),
            contradiction_index=label_index(id2label, "contradict"),
            device=device,
            batch_size=batch_size,
            max_length=max_length,
            model_id=name_or_path,
            revision=getattr(model.config, "_commit_hash", None) or ("local" if local else "unknown"),
        )

    def probabilities(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        """Label probabilities (pairs x labels) of ``premise => hypothesis``."""
        return nli_probabilities(
            self.model,
            self.tokenizer,
            premises,
            hypotheses,
            device=self.device,
            batch_size=self.batch_size,
            max_length=self.max_length,
        )

    def entailment(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        """P(premise entails hypothesis) for each pair, batched."""
        return self.probabilities(premises, hypotheses)[:, self.entailment_index].astype(float)

    def score_pairs(self, sources: Sequence[str], outputs: Sequence[str]) -> EntailmentScores:
        """Entailment both ways for aligned (source, output) pairs; needs a contradiction label."""
        if self.contradiction_index is None:
            nli_label_indices(self.model.config.id2label)  # raises, naming the labels
        fwd = self.probabilities(sources, outputs)
        bwd = self.probabilities(outputs, sources)
        e, c = self.entailment_index, int(self.contradiction_index)
        flip = (fwd.argmax(axis=1) == c) | (bwd.argmax(axis=1) == c) if len(fwd) else np.zeros(0, dtype=bool)
        return EntailmentScores(
            forward=fwd[:, e],
            backward=bwd[:, e],
            contradiction_forward=fwd[:, c],
            contradiction_backward=bwd[:, c],
            stance_flip=np.asarray(flip, dtype=bool),
        )
