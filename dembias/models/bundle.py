"""Models a caller has already loaded, handed to a stage's ``run`` so it does not load them again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class StageModels:
    """Loaded models to reuse; a ``None`` field is loaded by the stage from what its params name.

    ``embedder``: an :class:`~dembias.models.embedders.Embedder`; ``nli``: a
    :class:`~dembias.models.nli.NliJudge`; ``generator``: a loaded causal LM (a text generator).
    """

    embedder: Any | None = None
    nli: Any | None = None
    generator: Any | None = None
