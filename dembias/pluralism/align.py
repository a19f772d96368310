"""Link the units of a model output to the contributions they carry (DESIGN.md §5, "Linking").

Three methods, each giving every link a ``method`` and a ``score``:

* ``citation``: the output cites contribution ids (the Sensemaker report does). A citation is
  **supported**, and only then a link, when its unit is not content-free and passes the support test
  of :mod:`dembias.pluralism.support` (similarity above the debate's citation threshold, or entailment when an
  NLI model is configured); score: that similarity (or probability). Citation precision = supported /
  cited.
* ``nli``: when an NLI model is configured (any transformers sequence-classification model id or
  path), a unit links to a contribution when P(unit entails contribution) >= ``threshold`` (default
  0.5); the premise is the unit, the hypothesis the contribution, the score that probability.
  Candidate pairs are the ``candidates`` most similar contributions of each unit when embeddings are
  given, else every pair.
* ``similarity``: cosine similarity of unit and contribution embeddings, at least the debate's link
  threshold (:func:`dembias.pluralism.support.calibrate_support`: calibrated per debate against unrelated
  texts, never per output); the score is the similarity.

:func:`link_output` picks citations when the output has any, else NLI when a model is given, else
similarity; content-free and duplicate units (:func:`dembias.pluralism.support.screen_units`) link nothing.
Output of every function: a links frame ``(output_id, unit_index, contribution_id, method, score)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dembias.pluralism.support import SupportCalibration

if TYPE_CHECKING:
    from dembias.models.nli import NliJudge

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


def similarity_links(
    output_id: str,
    unit_indices: Sequence[int],
    unit_vectors: np.ndarray,
    contribution_ids: Sequence[str],
    contribution_vectors: np.ndarray,
    *,
    threshold: float,
    max_links_per_unit: int | None = None,
) -> tuple[pd.DataFrame, float]:
    """Links of every unit to the contributions at least ``threshold`` similar; returns (links, threshold).

    Vectors are L2-normalised rows, so the dot product is the cosine similarity. ``threshold`` is the
    debate's (:func:`dembias.pluralism.support.calibrate_support`). ``max_links_per_unit`` keeps each unit's
    most similar links only.
    """
    unit_vectors = np.asarray(unit_vectors, dtype=np.float32)
    contribution_vectors = np.asarray(contribution_vectors, dtype=np.float32)
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


def nli_links(
    output_id: str,
    unit_indices: Sequence[int],
    unit_texts: Sequence[str],
    contribution_ids: Sequence[str],
    contribution_texts: Sequence[str],
    nli: NliJudge,
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
    unit_vectors: np.ndarray,
    contribution_vectors: np.ndarray,
    calibration: SupportCalibration,
    screen: pd.DataFrame,
    citations: pd.DataFrame | None = None,
    nli: NliJudge | None = None,
    nli_threshold: float = 0.5,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Links of one output: supported citations if it cites, else NLI if configured, else similarity.

    ``units`` has ``unit_index`` and ``text``; ``contributions`` has ``contribution_id`` and ``text``;
    vectors are row-aligned with them; ``screen`` is :func:`dembias.pluralism.support.screen_units` of the units
    (row-aligned). Only units that carry content link: duplicates are merged into the unit they copy,
    content-free units link nothing. Returns (links, info): info names the method, the threshold, and
    for citations ``n_citations`` (to scored contributions), ``n_supported``, ``citation_precision``
    and ``n_citations_unknown`` (to contributions not scored: unknown or rejected).
    """
    ids = contributions["contribution_id"].astype(str).tolist()
    unit_index = units["unit_index"].to_numpy(dtype=np.int64)
    duplicate_of = screen["duplicate_of"].to_numpy()
    original = np.where(duplicate_of >= 0, unit_index[np.maximum(duplicate_of, 0)], unit_index)
    carries = ~screen["content_free"].to_numpy(dtype=bool) & (duplicate_of < 0)
    own = citations[citations["output_id"] == output_id] if citations is not None else None
    if own is not None and not own.empty:
        screened = pd.DataFrame({"original": original, "carries": carries}, index=unit_index)
        return _supported_citations(
            output_id, own, units, contributions, unit_vectors, contribution_vectors, calibration,
            screened=screened, nli=nli, nli_threshold=nli_threshold,
        )  # fmt: skip
    keep = carries
    if nli is not None:
        links = nli_links(
            output_id,
            unit_index[keep].tolist(),
            units["text"].to_numpy()[keep].tolist(),
            ids,
            contributions["text"].tolist(),
            nli,
            threshold=nli_threshold,
            unit_vectors=np.asarray(unit_vectors)[keep],
            contribution_vectors=contribution_vectors,
        )
        return links, {"method": "nli", "threshold": nli_threshold}
    links, threshold = similarity_links(
        output_id,
        unit_index[keep].tolist(),
        np.asarray(unit_vectors)[keep],
        ids,
        contribution_vectors,
        threshold=calibration.link_threshold,
    )
    return links, {"method": "similarity", "threshold": threshold}


def _supported_citations(
    output_id: str,
    own: pd.DataFrame,
    units: pd.DataFrame,
    contributions: pd.DataFrame,
    unit_vectors: np.ndarray,
    contribution_vectors: np.ndarray,
    calibration: SupportCalibration,
    *,
    screened: pd.DataFrame,
    nli: NliJudge | None,
    nli_threshold: float,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The citations of one output that pass the support test, as links (see :func:`link_output`).

    ``screened``, indexed by unit index: ``original`` (the unit a duplicate copies, else itself) and
    ``carries`` (the unit carries content: neither content-free nor a duplicate).
    """
    ids = contributions["contribution_id"].astype(str)
    position_of_contribution = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    position_of_unit = pd.Series(np.arange(len(units)), index=units["unit_index"].to_numpy(dtype=np.int64))
    cited = own[["unit_index", "contribution_id"]].astype({"unit_index": "int64", "contribution_id": str})
    cited = cited.drop_duplicates()
    known = cited["contribution_id"].isin(position_of_contribution.index)
    n_unknown = int((~known).sum())
    cited = cited[known & cited["unit_index"].isin(position_of_unit.index)].copy()
    cited["unit_index"] = (
        cited["unit_index"].map(screened["original"]).astype("int64")
    )  # a duplicate cites for its original
    cited = cited.drop_duplicates().reset_index(drop=True)
    info: dict[str, Any] = {"method": "citation", "n_citations": len(cited), "n_citations_unknown": n_unknown}
    if cited.empty:
        info.update(n_supported=0, citation_precision=None)
        return empty_links(), info
    u_pos = position_of_unit[cited["unit_index"]].to_numpy()
    c_pos = position_of_contribution[cited["contribution_id"]].to_numpy()
    if nli is not None:
        texts = contributions["text"].astype(str).to_numpy()
        score = nli.entailment(units["text"].astype(str).to_numpy()[u_pos].tolist(), texts[c_pos].tolist())
        threshold = nli_threshold
    else:
        u = np.asarray(unit_vectors, dtype=np.float32)[u_pos]
        c = np.asarray(contribution_vectors, dtype=np.float32)[c_pos]
        score = np.einsum("ij,ij->i", u, c).astype(float)
        threshold = calibration.citation_threshold
    ok = (score >= threshold) & cited["unit_index"].map(screened["carries"]).fillna(False).to_numpy(dtype=bool)
    links = cited[ok].assign(output_id=output_id, method="citation", score=score[ok])
    info.update(
        n_supported=int(ok.sum()),
        citation_precision=float(ok.mean()),
        threshold=float(threshold),
        support="nli" if nli is not None else "similarity",
    )
    if links.empty:
        return empty_links(), info
    return links.sort_values(["unit_index", "contribution_id"]).reset_index(drop=True)[LINK_COLUMNS], info
