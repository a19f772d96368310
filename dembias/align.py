"""Link the units of a model output to the contributions they carry (DESIGN.md §5, "Linking").

Three methods, each giving every link a ``method`` and a ``score``:

* ``citation``: the output cites contribution ids (the Sensemaker report does); score 1.0.
* ``nli``: when an NLI model is configured (any transformers sequence-classification model id or
  path), a unit links to a contribution when P(unit entails contribution) >= ``threshold`` (default
  0.5); the premise is the unit, the hypothesis the contribution, the score that probability.
  Candidate pairs are the ``candidates`` most similar contributions of each unit when embeddings are
  given, else every pair.
* ``similarity``: cosine similarity of unit and contribution embeddings, with a threshold calibrated
  per debate against a null: the ``quantile`` (default 0.99) of the similarities of ``n_null``
  (default 20,000) seeded random (unit, contribution) pairs of the same output and debate. A unit
  links to a contribution when their similarity is at least that threshold, i.e. when they are more
  similar than 99% of random pairs; the score is the similarity.

:func:`link_output` picks citations when the output has any, else NLI when a model is given, else
similarity. Output of every function: a links frame ``(output_id, unit_index, contribution_id,
method, score)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dembias.errors import DembiasError

LINK_COLUMNS = ["output_id", "unit_index", "contribution_id", "method", "score"]


def empty_links() -> pd.DataFrame:
    """A links frame with no row and the right columns."""
    return pd.DataFrame(
        {
            "output_id": pd.Series(dtype=str),
            "unit_index": pd.Series(dtype="int64"),
            "contribution_id": pd.Series(dtype=str),
            "method": pd.Series(dtype=str),
            "score": pd.Series(dtype=float),
        }
    )


def citation_links(citations: pd.DataFrame, *, contribution_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Links from a citations frame ``(output_id, unit_index, contribution_id)``; score 1.0.

    With ``contribution_ids``, citations of other contributions (e.g. rejected ones) are dropped.
    """
    if citations.empty:
        return empty_links()
    frame = citations[["output_id", "unit_index", "contribution_id"]].drop_duplicates().copy()
    frame["contribution_id"] = frame["contribution_id"].astype(str)
    if contribution_ids is not None:
        frame = frame[frame["contribution_id"].isin(set(map(str, contribution_ids)))]
    frame["method"] = "citation"
    frame["score"] = 1.0
    return (
        frame.astype({"unit_index": "int64"})
        .sort_values(["output_id", "unit_index", "contribution_id"])[LINK_COLUMNS]
        .reset_index(drop=True)
    )


def null_similarities(
    unit_vectors: np.ndarray, contribution_vectors: np.ndarray, *, n_null: int = 20_000, seed: int = 0
) -> np.ndarray:
    """Cosine similarities of ``n_null`` seeded random (unit, contribution) pairs (rows L2-normalised)."""
    rng = np.random.default_rng(seed)
    units = rng.integers(0, len(unit_vectors), size=n_null)
    contribs = rng.integers(0, len(contribution_vectors), size=n_null)
    return np.einsum("ij,ij->i", unit_vectors[units], contribution_vectors[contribs])


def calibrate_threshold(
    unit_vectors: np.ndarray,
    contribution_vectors: np.ndarray,
    *,
    quantile: float = 0.99,
    n_null: int = 20_000,
    seed: int = 0,
) -> float:
    """The similarity threshold: the ``quantile`` of similarities of random unit-contribution pairs."""
    if len(unit_vectors) == 0 or len(contribution_vectors) == 0:
        return float("inf")
    return float(np.quantile(null_similarities(unit_vectors, contribution_vectors, n_null=n_null, seed=seed), quantile))


def similarity_links(
    output_id: str,
    unit_indices: Sequence[int],
    unit_vectors: np.ndarray,
    contribution_ids: Sequence[str],
    contribution_vectors: np.ndarray,
    *,
    threshold: float | None = None,
    quantile: float = 0.99,
    n_null: int = 20_000,
    seed: int = 0,
    max_links_per_unit: int | None = None,
) -> tuple[pd.DataFrame, float]:
    """Links of every unit to the contributions at least ``threshold`` similar; returns (links, threshold).

    Vectors are L2-normalised rows, so the dot product is the cosine similarity. Without ``threshold``
    it is calibrated with :func:`calibrate_threshold`. ``max_links_per_unit`` keeps each unit's most
    similar links only.
    """
    unit_vectors = np.asarray(unit_vectors, dtype=np.float32)
    contribution_vectors = np.asarray(contribution_vectors, dtype=np.float32)
    if threshold is None:
        threshold = calibrate_threshold(unit_vectors, contribution_vectors, quantile=quantile, n_null=n_null, seed=seed)
    ids = np.asarray(list(map(str, contribution_ids)))
    frames = []
    for start in range(0, len(unit_vectors), 256):
        sims = unit_vectors[start : start + 256] @ contribution_vectors.T
        rows, cols = np.nonzero(sims >= threshold)
        frame = pd.DataFrame(
            {
                "unit_index": np.asarray(unit_indices, dtype=np.int64)[start + rows],
                "contribution_id": ids[cols],
                "score": sims[rows, cols].astype(float),
            }
        )
        frames.append(frame)
    if not frames or all(f.empty for f in frames):
        return empty_links(), float(threshold)
    links = pd.concat(frames, ignore_index=True)
    if max_links_per_unit is not None:
        links = (
            links.sort_values(["unit_index", "score"], ascending=[True, False])
            .groupby("unit_index")
            .head(max_links_per_unit)
        )
    links.insert(0, "output_id", output_id)
    links["method"] = "similarity"
    links = links.sort_values(["unit_index", "contribution_id"]).reset_index(drop=True)
    return links[LINK_COLUMNS], float(threshold)


@dataclass
class NliModel:
    """A transformers sequence-classification NLI model, loaded from an id or a local path."""

    model: Any
    tokenizer: Any
    entailment_index: int
    device: str = "cpu"
    batch_size: int = 32
    max_length: int = 256

    @classmethod
    def load(
        cls, name_or_path: str, *, device: str | None = None, entailment_index: int | None = None, batch_size: int = 32
    ) -> NliModel:
        """Load tokenizer and model; the entailment label is found in ``config.label2id`` unless given."""
        from dembias.nli import load_nli

        tokenizer, model, device = load_nli(name_or_path, device=device)
        if entailment_index is None:
            matches = [i for label, i in model.config.label2id.items() if "entail" in str(label).lower()]
            if len(matches) != 1:
                raise DembiasError(
                    f"{name_or_path}: cannot tell which label is entailment from {model.config.label2id}; "
                    "pass entailment_index"
                )
            entailment_index = int(matches[0])
        return cls(
            model=model, tokenizer=tokenizer, entailment_index=entailment_index, device=device, batch_size=batch_size
        )

    def entailment(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        """P(premise entails hypothesis) for each pair, batched."""
        from dembias.nli import nli_probabilities

        probabilities = nli_probabilities(
            self.model,
            self.tokenizer,
            premises,
            hypotheses,
            device=self.device,
            batch_size=self.batch_size,
            max_length=self.max_length,
        )
        return probabilities[:, self.entailment_index].astype(float)


def nli_links(
    output_id: str,
    unit_indices: Sequence[int],
    unit_texts: Sequence[str],
    contribution_ids: Sequence[str],
    contribution_texts: Sequence[str],
    nli: NliModel,
    *,
    threshold: float = 0.5,
    unit_vectors: np.ndarray | None = None,
    contribution_vectors: np.ndarray | None = None,
    candidates: int = 20,
) -> pd.DataFrame:
    """Links where P(unit entails contribution) >= ``threshold``.

    With embeddings, each unit is tested against its ``candidates`` most similar contributions only;
    without, against every contribution.
    """
    n_units, n_contribs = len(unit_texts), len(contribution_texts)
    if n_units == 0 or n_contribs == 0:
        return empty_links()
    if unit_vectors is not None and contribution_vectors is not None and candidates < n_contribs:
        sims = np.asarray(unit_vectors) @ np.asarray(contribution_vectors).T
        top = np.argsort(-sims, axis=1, kind="stable")[:, :candidates]
        pairs_u = np.repeat(np.arange(n_units), top.shape[1])
        pairs_c = top.ravel()
    else:
        pairs_u = np.repeat(np.arange(n_units), n_contribs)
        pairs_c = np.tile(np.arange(n_contribs), n_units)
    probs = nli.entailment([unit_texts[i] for i in pairs_u], [contribution_texts[j] for j in pairs_c])
    keep = probs >= threshold
    links = pd.DataFrame(
        {
            "output_id": output_id,
            "unit_index": np.asarray(unit_indices, dtype=np.int64)[pairs_u[keep]],
            "contribution_id": np.asarray(list(map(str, contribution_ids)))[pairs_c[keep]],
            "method": "nli",
            "score": probs[keep],
        }
    )
    if links.empty:
        return empty_links()
    return links.sort_values(["unit_index", "contribution_id"]).reset_index(drop=True)[LINK_COLUMNS]


def link_output(
    output_id: str,
    units: pd.DataFrame,
    contributions: pd.DataFrame,
    *,
    citations: pd.DataFrame | None = None,
    unit_vectors: np.ndarray | None = None,
    contribution_vectors: np.ndarray | None = None,
    nli: NliModel | None = None,
    nli_threshold: float = 0.5,
    quantile: float = 0.99,
    seed: int = 0,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Links of one output: citations if it has any, else NLI if configured, else calibrated similarity.

    ``units`` has ``unit_index`` and ``text``; ``contributions`` has ``contribution_id`` and ``text``;
    vectors are row-aligned with them. Returns (links, info) where info names the method and, for
    similarity, the calibrated threshold.
    """
    ids = contributions["contribution_id"].astype(str).tolist()
    if citations is not None and not citations.empty:
        links = citation_links(citations[citations["output_id"] == output_id], contribution_ids=ids)
        if not links.empty:
            return links, {"method": "citation"}
    if nli is not None:
        links = nli_links(
            output_id,
            units["unit_index"].tolist(),
            units["text"].tolist(),
            ids,
            contributions["text"].tolist(),
            nli,
            threshold=nli_threshold,
            unit_vectors=unit_vectors,
            contribution_vectors=contribution_vectors,
        )
        return links, {"method": "nli", "threshold": nli_threshold}
    if unit_vectors is None or contribution_vectors is None:
        raise DembiasError(f"output {output_id}: no citation, no NLI model and no embeddings to link its units")
    links, threshold = similarity_links(
        output_id,
        units["unit_index"].tolist(),
        unit_vectors,
        ids,
        contribution_vectors,
        quantile=quantile,
        seed=seed,
    )
    return links, {"method": "similarity", "threshold": threshold, "quantile": quantile}
