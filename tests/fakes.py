"""Test doubles that production code reaches only through its extension points.

``FakeEmbedder`` is registered as the embedder spec ``fake[:dim]`` (see
:func:`dembias.models.embedders.register_embedder`). Importing this module registers it; the test
session also names it in ``$DEMBIAS_EMBEDDER_PLUGINS`` so that workers and CLIs started as
subprocesses (and Ray workers) find it too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from dembias.models.embedders import normalise_rows, register_embedder


@dataclass
class FakeEmbedder:
    """Deterministic embeddings with known structure, for tests.

    Each topic is a seeded random direction; each text gets that direction plus seeded noise from its
    hash. A text's topic comes from ``topics`` (text -> topic), else from a ``"topic::"`` prefix,
    else the text itself is its own topic.
    """

    topics: Mapping[str, str] = field(default_factory=dict)
    dim: int = 32
    noise: float = 0.35
    seed: int = 0
    model_id: str = "fake"
    calls: int = 0

    @property
    def revision(self) -> str:
        """Parameters that change the vectors."""
        return f"dim={self.dim};noise={self.noise};seed={self.seed}"

    def topic_of(self, text: str) -> str:
        """The topic a text belongs to."""
        if text in self.topics:
            return self.topics[text]
        head, sep, _ = text.partition("::")
        return head if sep else text

    def _vector(self, key: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(f"{self.seed}:{key}".encode()).digest()[:8], "little")
        return np.random.default_rng(seed).standard_normal(self.dim)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Topic direction plus per-text noise, rows L2-normalised."""
        self.calls += 1
        rows = np.zeros((len(texts), self.dim), dtype=np.float64)
        for i, text in enumerate(texts):
            direction = self._vector("topic:" + self.topic_of(text))
            direction /= np.linalg.norm(direction)
            noise = self._vector("text:" + text) / np.sqrt(self.dim)
            rows[i] = direction + self.noise * noise
        return normalise_rows(rows)


def load_fake(arg: str, device: str | None, batch_size: int) -> FakeEmbedder:
    """``fake[:dim]`` (32 dimensions by default) or ``fake:dim=..;noise=..;seed=..`` (a revision)."""
    del device, batch_size
    if "=" not in arg:
        return FakeEmbedder(dim=int(arg) if arg else 32)
    fields = dict(part.split("=", 1) for part in arg.split(";") if "=" in part)
    return FakeEmbedder(
        dim=int(fields.get("dim", 32)), noise=float(fields.get("noise", 0.35)), seed=int(fields.get("seed", 0))
    )


def fake_from_revision(revision: str) -> str:
    """The spec argument that rebuilds a fake embedder from a manifest's revision: the revision itself."""
    return revision


register_embedder("fake", load_fake, spec_arg=fake_from_revision)
