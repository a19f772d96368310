"""Stage 1, the opinion map of a debate, written as one ``mapping`` run.

Embeddings (cached), UMAP for display, HDBSCAN opinion clusters, c-TF-IDF labels, Polis-style vote
groups and robustness diagnostics. The entry point is :func:`dembias.opinion_map.stage.run`
(``dembias.opinion_map.run``, the contract of :mod:`dembias.workspace.stage`), with its parameters
:class:`dembias.opinion_map.params.MapParams`. Both are loaded on first use, so importing this package
imports neither UMAP, HDBSCAN nor torch.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MapParams", "run"]


def __getattr__(name: str) -> Any:
    """``run`` and ``MapParams``, imported on first use (PEP 562)."""
    if name == "run":
        from dembias.opinion_map.stage import run

        return run
    if name == "MapParams":
        from dembias.opinion_map.params import MapParams

        return MapParams
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
