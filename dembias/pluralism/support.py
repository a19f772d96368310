"""The support test: when does a unit of a model output carry a contribution? (DESIGN.md §5, "Linking")

Every threshold here is calibrated **per debate, never per output**, against texts known to be
unrelated to the debate: a bundled set of off-topic sentences in six languages
(``resources/null_sentences.tsv``: astronomy, cooking, sport, music, animals, ... in en, fr, de, it,
es, zh), those in the debate's language when there are enough (:func:`null_sentences_for`). So every output of a debate is judged by the same thresholds, and a text that has nothing to
do with the debate links to (almost) nothing, however it is worded.

Calibration (:func:`calibrate_support`), over L2-normalised embeddings:

* ``unrelated_max``: for each unrelated sentence, its highest similarity to any contribution of the
  debate; the threshold is the ``link_quantile`` (0.95) of those maxima. A unit whose best match is
  below it is no closer to the debate than 95% of unrelated sentences are: the test is family-wise,
  so it grows with the number of contributions searched.
* ``within``: the ``within_quantile`` (0.99) of similarities of seeded random pairs of distinct
  contributions of the debate. A similarity link must also beat it: on a small, single-topic debate
  every on-topic sentence is loosely similar to every contribution, and a link should mean more than
  "same topic".
* **link threshold** = max(unrelated_max, within): a unit links (by similarity) to every contribution
  at least that similar.
* **citation threshold**: the ``pair_quantile`` (0.99) of similarities of all (unrelated sentence,
  contribution) pairs. A citation names its contribution, so no search is corrected for: it is
  *supported* when the unit is more similar to the cited contribution than 99% of unrelated pairs are
  (or, with an NLI judge, when the unit entails it).
* **centroid threshold**: the ``link_quantile`` of the unrelated sentences' similarity to the debate's
  centroid (the normalised mean of its contributions).

Unit screening (:func:`screen_units`) marks, in order:

* ``duplicate``: a near-copy (same normalised text, or similarity >= ``duplicate_similarity``, 0.95)
  of an earlier unit of the same output. Duplicates are merged: they count once, in the budget and in
  coverage.
* ``empty``: no word.
* ``title``: a copy of the debate's title (its words, with at most three more; or similarity to the
  title >= ``duplicate_similarity``).
* ``unrelated``: no closer to any contribution than unrelated texts are (best match below the
  unrelated-max threshold) *and* no closer to the debate as a whole than they are (centroid
  similarity below the centroid threshold): "the opinions expressed are diverse", a boilerplate, an
  off-topic sentence.
* ``debate-level``: no closer to any contribution than to the debate as a whole (best match <=
  centroid similarity): it restates the debate, not an opinion in it.

A marked unit is **content-free** (except ``duplicate``, which takes the status of the unit it copies):
it links nothing, and its citations are not counted as carried.

Assumptions, stated: the embeddings are multilingual and topical (they do not see stance, DESIGN.md
§4); unrelated texts are a fair model of "links by chance"; long paragraphs that summarise several
comments are less similar to each one than a sentence is, so citation support by embeddings is
conservative for them: configure an NLI judge for a stronger test.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dembias.models.embedders import normalise_rows

NULL_SENTENCES_PATH = Path(__file__).resolve().parent / "resources" / "null_sentences.tsv"

#: Reasons a unit is content-free (duplicates are reported apart: they take their original's status).
CONTENT_FREE_REASONS = ("empty", "title", "unrelated", "debate-level")


@lru_cache(maxsize=1)
def null_sentences() -> pd.DataFrame:
    """The bundled unrelated sentences: ``language``, ``topic``, ``text``."""
    return pd.read_csv(NULL_SENTENCES_PATH, sep="\t", quoting=csv.QUOTE_NONE, dtype=str, keep_default_na=False)


#: The fewest unrelated sentences in the debate's language for a same-language null.
MIN_SAME_LANGUAGE_NULL = 20


def null_sentences_for(language: str | None) -> pd.DataFrame:
    """The unrelated sentences to calibrate a debate of ``language`` (a BCP 47 tag) against.

    Texts in the same language are more similar to each other than to texts in another language
    (even with a multilingual embedder), so a null of mixed languages would understate what an
    unrelated text *in the debate's language* scores. The sentences in the debate's language are used
    when there are at least :data:`MIN_SAME_LANGUAGE_NULL` of them, else all of them.
    """
    table = null_sentences()
    base = (language or "").split("-")[0].lower()
    same = table[table["language"] == base]
    return (same if len(same) >= MIN_SAME_LANGUAGE_NULL else table).reset_index(drop=True)


@dataclass(frozen=True)
class SupportCalibration:
    """The thresholds of one debate (module docstring) and how they were obtained."""

    link_threshold: float
    citation_threshold: float
    unrelated_max_threshold: float
    within_threshold: float
    centroid_threshold: float
    centroid: np.ndarray = field(repr=False)
    info: dict[str, Any] = field(default_factory=dict)

    def to_manifest(self) -> dict[str, Any]:
        """The thresholds and their parameters, for a run's manifest."""
        return {
            "link_threshold": round(self.link_threshold, 6),
            "citation_threshold": round(self.citation_threshold, 6),
            "unrelated_max_threshold": round(self.unrelated_max_threshold, 6),
            "within_threshold": round(self.within_threshold, 6),
            "centroid_threshold": round(self.centroid_threshold, 6),
            **self.info,
        }


def calibrate_support(
    contribution_vectors: np.ndarray,
    null_vectors: np.ndarray,
    *,
    seed: int = 0,
    link_quantile: float = 0.95,
    pair_quantile: float = 0.99,
    within_quantile: float = 0.99,
    n_within: int = 20_000,
    null_language: str = "all",
) -> SupportCalibration:
    """Calibrate the support thresholds of a debate against unrelated texts (module docstring).

    ``contribution_vectors``: the debate's contributions; ``null_vectors``: the unrelated sentences
    (rows L2-normalised). ``seed`` draws the within-debate pairs.
    """
    for name, q in (("link_quantile", link_quantile), ("pair_quantile", pair_quantile), ("within", within_quantile)):
        if not 0.5 <= q < 1:
            raise ValueError(f"{name} must be in [0.5, 1), got {q}")
    contributions = normalise_rows(contribution_vectors)
    nulls = normalise_rows(null_vectors)
    if len(contributions) == 0 or len(nulls) == 0:
        raise ValueError("calibration needs contributions and unrelated texts")
    maxima = np.full(len(nulls), -np.inf, dtype=np.float32)
    pair_samples = []
    rng = np.random.default_rng(seed)
    for start in range(0, len(contributions), 8192):
        sims = nulls @ contributions[start : start + 8192].T
        maxima = np.maximum(maxima, sims.max(axis=1))
        flat = sims.ravel()
        take = min(flat.size, 50_000)
        pair_samples.append(flat if take == flat.size else rng.choice(flat, size=take, replace=False))
    pairs = np.concatenate(pair_samples)
    centroid = contributions.mean(axis=0)
    centroid = centroid / (np.linalg.norm(centroid) or 1.0)
    if len(contributions) > 1:
        i = rng.integers(0, len(contributions), size=n_within)
        j = (i + rng.integers(1, len(contributions), size=n_within)) % len(contributions)  # j != i
        within = float(np.quantile(np.einsum("ij,ij->i", contributions[i], contributions[j]), within_quantile))
    else:
        within = 1.0
    unrelated_max = float(np.quantile(maxima, link_quantile))
    return SupportCalibration(
        link_threshold=max(unrelated_max, within),
        citation_threshold=float(np.quantile(pairs, pair_quantile)),
        unrelated_max_threshold=unrelated_max,
        within_threshold=within,
        centroid_threshold=float(np.quantile(nulls @ centroid, link_quantile)),
        centroid=centroid,
        info={
            "null": NULL_SENTENCES_PATH.name,
            "null_language": null_language,
            "n_null": len(nulls),
            "link_quantile": link_quantile,
            "pair_quantile": pair_quantile,
            "within_quantile": within_quantile,
            "n_within": n_within,
            "seed": seed,
        },
    )


_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CITATION = re.compile(r"\[[^\]]*\]")


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits; each CJK character is a word) without citations."""
    text = unicodedata.normalize("NFKC", _CITATION.sub(" ", str(text))).lower()
    out: list[str] = []
    for token in _WORD.findall(text):
        if any("\u3400" <= ch <= "\u9fff" for ch in token):
            out.extend(ch for ch in token if not ch.isspace())
        else:
            out.append(token)
    return out


def copies_title(text: str, title: str | None) -> bool:
    """Whether ``text`` is the title: every title word present and at most three other words (numbering)."""
    if not title:
        return False
    title_words = [w for w in words(title) if not w.isdigit()]
    text_words = [w for w in words(text) if not w.isdigit()]
    if not title_words or not text_words:
        return False
    present = set(text_words)
    extra = [w for w in text_words if w not in set(title_words)]
    return all(w in present for w in title_words) and len(extra) <= 3


def _duplicates(keys: list[str], units: np.ndarray, *, duplicate_similarity: float) -> np.ndarray:
    """Per unit, the position of the earlier unit it repeats (same words, or cosine >= the threshold), else -1."""
    n = len(keys)
    duplicate_of = np.full(n, -1, dtype=np.int64)
    first_of_key: dict[str, int] = {}
    for i in range(n):
        if keys[i] in first_of_key:
            duplicate_of[i] = first_of_key[keys[i]]
            continue
        if i:
            earlier = np.flatnonzero(duplicate_of[:i] < 0)
            sims = units[earlier] @ units[i]
            close = earlier[sims >= duplicate_similarity]
            if close.size:
                duplicate_of[i] = int(close[0])
                continue
        first_of_key[keys[i]] = i
    return duplicate_of


def _unrelated_or_debate_level(best: float, centroid_sim: float, calibration: SupportCalibration) -> str | None:
    """A unit no contribution supports better than unrelated text does, or better than the debate's centroid."""
    if best < calibration.unrelated_max_threshold and centroid_sim < calibration.centroid_threshold:
        return "unrelated"
    if best <= centroid_sim:
        return "debate-level"
    return None


def screen_units(
    unit_texts: list[str],
    unit_vectors: np.ndarray,
    contribution_vectors: np.ndarray,
    calibration: SupportCalibration,
    *,
    title: str | None = None,
    title_vector: np.ndarray | None = None,
    duplicate_similarity: float = 0.95,
) -> pd.DataFrame:
    """Mark duplicate and content-free units of one output (module docstring), row-aligned with the units.

    Columns: ``position`` (0..n-1), ``max_similarity`` (best match among the contributions),
    ``centroid_similarity``, ``duplicate_of`` (position of the first copy, -1 if none),
    ``content_free`` (bool) and ``reason`` (a :data:`CONTENT_FREE_REASONS` value, ``duplicate`` or None).
    """
    n = len(unit_texts)
    units = normalise_rows(unit_vectors) if n else np.zeros((0, len(calibration.centroid)), dtype=np.float32)
    contributions = normalise_rows(contribution_vectors)
    best = np.full(n, -1.0)
    for start in range(0, len(contributions), 8192):
        if n:
            best = np.maximum(best, (units @ contributions[start : start + 8192].T).max(axis=1))
    centroid_sim = units @ calibration.centroid if n else np.zeros(0)
    title_sim = (
        units @ normalise_rows(np.atleast_2d(title_vector))[0] if title_vector is not None and n else np.zeros(n)
    )
    keys = [" ".join(words(t)) for t in unit_texts]
    duplicate_of = _duplicates(keys, units, duplicate_similarity=duplicate_similarity)
    reasons: list[str | None] = []
    for i in range(n):
        if duplicate_of[i] >= 0:
            reasons.append("duplicate")
        elif not keys[i]:
            reasons.append("empty")
        elif copies_title(unit_texts[i], title) or title_sim[i] >= duplicate_similarity:
            reasons.append("title")
        else:
            reasons.append(_unrelated_or_debate_level(best[i], centroid_sim[i], calibration))
    content_free = np.array([r in CONTENT_FREE_REASONS for r in reasons], dtype=bool)
    for i in range(n):  # a duplicate has the status of the unit it copies
        if duplicate_of[i] >= 0:
            content_free[i] = content_free[duplicate_of[i]]
    return pd.DataFrame(
        {
            "position": np.arange(n, dtype=np.int64),
            "max_similarity": best.astype(float),
            "centroid_similarity": np.asarray(centroid_sim, dtype=float),
            "duplicate_of": duplicate_of,
            "content_free": content_free,
            "reason": pd.Series(reasons, dtype=object),
        }
    )
