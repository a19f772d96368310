"""Scores of each logged interaction: outcome indicators, fidelity flags of the suggestion, and the pull.

Per interaction (one row of :func:`score_interactions`):

* **outcome**: ``accepted``, ``edited``, ``rejected`` as 0/1 indicators;
* **fidelity of the suggestion to the draft**: lexical flags (:mod:`dembias.fidelity.lexical`) and, with an
  embedder, the cosine similarity of draft and suggestion;
* **pull**, how far the final text moved from the draft toward the suggestion:

  - ``pull_chars = (lev(draft, suggestion) - lev(final, suggestion)) / lev(draft, suggestion)``
    with ``lev`` the character Levenshtein distance: 1 when the final is the suggestion, 0 when it is
    the draft, negative when the final moved away; NaN when the suggestion equals the draft;
  - with an embedder, ``pull_embedding = (sim(final, s) - sim(draft, s)) / (1 - sim(draft, s))`` with
    ``s`` the suggestion (NaN when ``sim(draft, s) > 0.999``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dembias.fidelity.interaction_log import Interaction
from dembias.fidelity.lexical import lexical_flags
from dembias.fidelity.metrics import STANCE_FLAG_KINDS


def levenshtein(a: str, b: str) -> int:
    """Character edit distance (insertions, deletions, substitutions, each cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def char_pull(draft: str, suggestion: str, final: str) -> float:
    """``(lev(draft, s) - lev(final, s)) / lev(draft, s)``; NaN when the suggestion equals the draft."""
    base = levenshtein(draft, suggestion)
    if base == 0:
        return float("nan")
    return (base - levenshtein(final, suggestion)) / base


def embedding_pull(sim_draft_suggestion: float, sim_final_suggestion: float) -> float:
    """``(sim(final, s) - sim(draft, s)) / (1 - sim(draft, s))``; NaN when the draft is the suggestion."""
    if sim_draft_suggestion > 0.999:
        return float("nan")
    return (sim_final_suggestion - sim_draft_suggestion) / (1.0 - sim_draft_suggestion)


def score_interactions(records: Sequence[Interaction], *, embedder: Any = None) -> pd.DataFrame:
    """One row per interaction with its outcome indicators, flags and pulls (see the module docstring)."""
    rows = []
    for r in records:
        flags = lexical_flags(
            r.draft, r.suggestion, source_lang=r.language, target_lang=r.target_language or r.language
        )
        rows.append(
            {
                "interaction_id": r.interaction_id,
                "contribution_id": r.contribution_id,
                "debate_id": r.debate_id,
                "task": r.task,
                "draft": r.draft,
                "suggestion": r.suggestion,
                "final": r.final,
                "outcome": r.outcome,
                "language": r.language,
                "target_language": r.target_language or r.language,
                "country": r.country,
                "cluster": r.cluster,
                "author_pid": r.author,
                "labels": json.dumps(r.labels, ensure_ascii=False, sort_keys=True),
                "accepted": float(r.outcome == "accepted"),
                "edited": float(r.outcome == "edited"),
                "rejected": float(r.outcome == "rejected"),
                "flag_kinds": [f.kind for f in flags],
                "flagged": float(bool(flags)),
                # any stance change: a negation out of place or a polarity concept turned around
                "negation_flagged": float(any(f.kind in STANCE_FLAG_KINDS for f in flags)),
                "pull_chars": char_pull(r.draft, r.suggestion, r.final),
            }
        )
    frame = pd.DataFrame(rows)
    if embedder is not None and len(records):
        n = len(records)
        vectors = np.asarray(
            embedder.embed([r.draft for r in records] + [r.suggestion for r in records] + [r.final for r in records]),
            dtype=np.float64,
        )
        draft, suggestion, final = vectors[:n], vectors[n : 2 * n], vectors[2 * n :]
        sim_ds = np.einsum("ij,ij->i", draft, suggestion)
        sim_fs = np.einsum("ij,ij->i", final, suggestion)
        frame["suggestion_similarity"] = sim_ds
        frame["pull_embedding"] = [embedding_pull(a, b) for a, b in zip(sim_ds, sim_fs, strict=True)]
    else:
        frame["suggestion_similarity"] = np.nan
        frame["pull_embedding"] = np.nan
    return frame
