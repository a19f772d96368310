"""Scoring rewrite pairs: similarity and its percentile against the debate's null, lexical flags, entailment.

Per pair: similarity and its percentile against the debate's null (:mod:`dembias.fidelity.metrics`), lexical
flags (:mod:`dembias.fidelity.lexical`) including stance changes without a judge
(:mod:`dembias.fidelity.polarity`; ``lexical_stance_flip`` is NaN and ``stance_note`` says "stance not checked
for zh" when a language has no lexicon), an output not in the language asked for (the declared target, or the
source's for a reformulation) flagged ``language_mismatch``, and, when an NLI model is given, bidirectional
entailment and a stance-flip flag; then the review score. Nothing here reads a workspace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dembias.fidelity.lexical import Flag, base_language, length_ratio, lexical_flags
from dembias.fidelity.metrics import (
    NO_STANCE_NOTE,
    STANCE_FLAG_KINDS,
    null_similarities,
    pair_similarities,
    review_score,
    similarity_percentile,
)
from dembias.fidelity.polarity import not_checked_note, stance_checked
from dembias.ingest.language import detect_language
from dembias.models.nli import NliJudge


@dataclass
class FidelityScores:
    """Scored pairs of one debate and their flags."""

    pairs: pd.DataFrame
    flags: pd.DataFrame
    stance_scored: bool
    note: str | None = None
    input_run_ids: list[str] = field(default_factory=list)


def _null_percentiles(
    pairs: pd.DataFrame,
    similarity: np.ndarray,
    output_vectors: np.ndarray,
    *,
    pool_ids: Sequence[str],
    pool_vectors: np.ndarray,
    n_null: int,
    seed: int,
) -> tuple[list[float], list[int]]:
    """Per pair, the percentile of its similarity among unrelated contributions (its own sources left out)."""
    position = {cid: i for i, cid in enumerate(pool_ids)}
    percentiles, n_nulls = [], []
    for i, row in enumerate(pairs.itertuples(index=False)):
        exclude = [position[s] for s in row.source_ids if s in position]
        null = null_similarities(output_vectors[i], pool_vectors, exclude=exclude, n_null=n_null, seed=seed + i)
        percentiles.append(similarity_percentile(float(similarity[i]), null))
        n_nulls.append(int(null.size))
    return percentiles, n_nulls


def _add_flag_columns(scored: pd.DataFrame, kinds_per_pair: list[list[str]]) -> None:
    """The flag columns of the pairs, and whether the lexicons could check stance for their languages."""
    scored["flag_kinds"] = kinds_per_pair
    scored["n_flags"] = [len(k) for k in kinds_per_pair]
    scored["flagged"] = [float(bool(k)) for k in kinds_per_pair]
    scored["negation_flagged"] = [float(any(x.startswith("negation") for x in k)) for k in kinds_per_pair]
    read_as = [_read_as(row) for row in scored.itertuples(index=False)]
    sources = scored["source_language"]
    checked = [stance_checked(src, lang) for src, lang in zip(sources, read_as, strict=True)]
    scored["stance_checked"] = checked
    scored["stance_note"] = [not_checked_note(src, lang) for src, lang in zip(sources, read_as, strict=True)]
    scored["lexical_stance_flip"] = [
        float(any(x in STANCE_FLAG_KINDS for x in k)) if ok else np.nan
        for k, ok in zip(kinds_per_pair, checked, strict=True)
    ]
    scored["language_mismatch"] = [float("language_mismatch" in k) for k in kinds_per_pair]


def _add_entailment(scored: pd.DataFrame, nli: NliJudge | None) -> None:
    """Entailment both ways and the stance flip from the NLI judge; missing without one."""
    if nli is not None and len(scored):
        ent = nli.score_pairs(scored["source_text"].tolist(), scored["output_text"].tolist())
        scored["entailment_forward"] = ent.forward.astype(float)
        scored["entailment_backward"] = ent.backward.astype(float)
        scored["entailment_min"] = ent.minimum.astype(float)
        scored["stance_flip"] = ent.stance_flip.astype(bool)
        return
    for column in ("entailment_forward", "entailment_backward", "entailment_min"):
        scored[column] = np.nan
    scored["stance_flip"] = pd.array([None] * len(scored), dtype="boolean")


def _review_scores(scored: pd.DataFrame, kinds_per_pair: list[list[str]], *, stance_scored: bool) -> list[float]:
    return [
        review_score(
            percentile=p,
            flag_kinds=k,
            entailment_min=None if np.isnan(e) else e,
            stance_flip=bool(f) if stance_scored else False,
        )
        for p, k, e, f in zip(
            scored["similarity_percentile"],
            kinds_per_pair,
            scored["entailment_min"],
            scored["stance_flip"].fillna(False) if len(scored) else [],
            strict=True,
        )
    ]


def score_pairs(
    pairs: pd.DataFrame,
    *,
    source_vectors: np.ndarray,
    output_vectors: np.ndarray,
    pool_ids: Sequence[str],
    pool_vectors: np.ndarray,
    nli: NliJudge | None = None,
    n_null: int = 500,
    seed: int = 0,
) -> FidelityScores:
    """Similarity, percentile, flags, entailment and review score for aligned pairs of one debate.

    ``pool_ids``/``pool_vectors`` are the debate's contributions (the null of each output excludes
    its own sources); vectors are L2-normalised, rows aligned with ``pairs``.
    """
    if "output_language" not in pairs.columns:  # detected, never assumed
        pairs = pairs.assign(output_language=[base_language(detect_language(t)) for t in pairs["output_text"]])
    similarity = pair_similarities(source_vectors, output_vectors) if len(pairs) else np.zeros(0)
    percentiles, n_nulls = _null_percentiles(
        pairs, similarity, output_vectors, pool_ids=pool_ids, pool_vectors=pool_vectors, n_null=n_null, seed=seed
    )
    flags_per_pair = [pair_flags(row) for row in pairs.itertuples(index=False)]
    flag_rows = [
        {"output_id": output_id, "kind": f.kind, "words": list(f.words), "detail": f.detail}
        for output_id, flags in zip(pairs["output_id"], flags_per_pair, strict=True)
        for f in flags
    ]
    kinds_per_pair = [[f.kind for f in flags] for flags in flags_per_pair]
    scored = pairs.copy()
    scored["similarity"] = similarity.astype(float)
    scored["similarity_percentile"] = percentiles
    scored["n_null"] = n_nulls
    scored["length_ratio"] = [
        length_ratio(s, o) for s, o in zip(pairs["source_text"], pairs["output_text"], strict=True)
    ]
    _add_flag_columns(scored, kinds_per_pair)
    _add_entailment(scored, nli)
    stance_scored = nli is not None
    scored["stance_scored"] = stance_scored
    scored["review_score"] = _review_scores(scored, kinds_per_pair, stance_scored=stance_scored)
    flags_frame = pd.DataFrame(flag_rows, columns=["output_id", "kind", "words", "detail"])
    return FidelityScores(
        pairs=scored, flags=flags_frame, stance_scored=stance_scored, note=None if stance_scored else NO_STANCE_NOTE
    )


def _read_as(row: Any) -> str:
    """The language an output is read in: its detected language, unless undetectable ("und")."""
    detected = getattr(row, "output_language", None)
    return detected if isinstance(detected, str) and detected and detected != "und" else row.target_language


def pair_flags(row: Any) -> list[Flag]:
    """Lexical flags of one pair, the output read in its detected language, plus ``language_mismatch``."""
    read_as = _read_as(row)
    flags = lexical_flags(row.source_text, row.output_text, source_lang=row.source_language, target_lang=read_as)
    if base_language(read_as) != base_language(row.target_language):
        flags.append(
            Flag(
                "language_mismatch",
                [],
                f"asked for {row.target_language}, the output is in {read_as} (detected); "
                "its words were compared as " + read_as,
            )
        )
    return flags
