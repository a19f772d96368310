"""Fidelity of rewrites (reformulations, translations): similarity against a null, entailment, review score.

Definitions (DESIGN.md §5, fidelity):

* **similarity**: cosine of the (L2-normalised) embeddings of the source x and the output y. With a
  multilingual embedder it is comparable across languages.
* **similarity percentile**: the share, in percent, of *null* similarities strictly below the observed
  one. The null of an output is its similarity to contributions of the same debate that are not its
  sources (all of them, or a seeded sample of ``n_null``), so the question is "is the output closer to
  its own source than to other contributions of the debate?". 100 means closer than every other
  contribution; 50 means no closer than a typical one.
* **entailment** (only with an NLI model): P(x⇒y), P(y⇒x) and their minimum; **stance flip** when
  contradiction is the most probable label in either direction.
* **review score** in [0, 1], a noisy-or of independent reasons to look at the pair::

      review = 1 - (1 - r_sem) (1 - r_flags) (1 - r_nli)
      r_sem   = 1 - percentile / 100
      r_flags = 1 - 0.5 ** (sum of flag weights)       (FLAG_WEIGHTS: negation, number, opposition 1.0;
                                                        entity, hedge, intensifier, length 0.5)
      r_nli   = 1 if stance_flip else 1 - entailment_min   (0 when no NLI model is used)

  So one negation flag alone gives 0.5, a pair no closer to its source than the median contribution
  gives at least 0.5, and a stance flip gives 1.

Embeddings do not see a flipped stance ("for" and "against" the same proposal embed almost the same),
so results scored without an NLI model carry ``stance_scored=False`` and :data:`NO_STANCE_NOTE`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from dembias.errors import DembiasError
from dembias.metrics.uncertainty import benjamini_hochberg, bootstrap_mean_ci, permutation_test

NO_STANCE_NOTE = (
    "stance not scored: no NLI model was configured, and embedding similarity cannot see a flipped stance "
    "(a rewrite that says the opposite can score as similar as a faithful one); read the negation flags"
)

#: Weight of each flag kind (by prefix) in the review score.
FLAG_WEIGHTS: dict[str, float] = {
    "negation": 1.0,
    "number": 1.0,
    "opposition": 1.0,
    "entity": 0.5,
    "hedge": 0.5,
    "intensifier": 0.5,
    "length": 0.5,
}

DEFAULT_K = 5


# --------------------------------------------------------------------------------------------------
# similarity and its null


def pair_similarities(sources: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two aligned matrices of L2-normalised embeddings."""
    sources = np.asarray(sources, dtype=np.float64)
    outputs = np.asarray(outputs, dtype=np.float64)
    if sources.shape != outputs.shape:
        raise ValueError(f"shapes differ: {sources.shape} vs {outputs.shape}")
    return np.einsum("ij,ij->i", sources, outputs)


def similarity_percentile(observed: float, null: np.ndarray) -> float:
    """Percent of ``null`` values strictly below ``observed`` (in [0, 100]; NaN for an empty null)."""
    null = np.asarray(null, dtype=np.float64).ravel()
    null = null[~np.isnan(null)]
    if null.size == 0 or np.isnan(observed):
        return float("nan")
    return float(100.0 * np.count_nonzero(null < observed) / null.size)


def null_similarities(
    output_vector: np.ndarray,
    pool: np.ndarray,
    *,
    exclude: Sequence[int] = (),
    n_null: int = 500,
    seed: int = 0,
) -> np.ndarray:
    """Similarities of one output to contributions of its debate (rows of ``pool``) other than ``exclude``.

    Every eligible contribution is used when there are at most ``n_null``; else a seeded sample of
    ``n_null`` without replacement.
    """
    n = pool.shape[0]
    excluded = np.unique(np.asarray(list(exclude), dtype=np.int64))
    excluded = excluded[(excluded >= 0) & (excluded < n)]
    n_eligible = n - excluded.size
    if n_eligible > n_null:
        # the same draw as choosing from the array of eligible indices, without building it: rank r among the
        # eligible rows is row r + (number of excluded rows at or before it)
        ranks = np.sort(np.random.default_rng(seed).choice(n_eligible, size=n_null, replace=False))
        eligible = ranks + np.searchsorted(excluded - np.arange(excluded.size), ranks, side="right")
    else:
        eligible = np.setdiff1d(np.arange(n), excluded)
    # only the sampled rows are converted: converting the whole pool cost a copy of it per output
    return np.asarray(pool[eligible], dtype=np.float64) @ np.asarray(output_vector, dtype=np.float64)


# --------------------------------------------------------------------------------------------------
# entailment


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


class NLIScorer:
    """A transformers sequence-classification NLI model (hub id or local path), held for scoring.

    Labels come from ``config.id2label``: the label whose name contains "entail" and the one that
    contains "contradict" (case-insensitive); a model without both is refused.
    """

    def __init__(self, model: str, *, device: str | None = None, batch_size: int = 16, max_length: int = 256) -> None:
        from dembias.nli import load_nli

        self.model_id = model
        self.batch_size = batch_size
        self.max_length = max_length
        self._tokenizer, self._model, self.device = load_nli(model, device=device)
        self.entailment_index, self.contradiction_index = nli_label_indices(self._model.config.id2label)
        local = Path(model).expanduser().exists()
        self.revision = getattr(self._model.config, "_commit_hash", None) or ("local" if local else "unknown")

    def probabilities(self, premises: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
        """Label probabilities (pairs x labels) of ``premise => hypothesis``."""
        from dembias.nli import nli_probabilities

        return nli_probabilities(
            self._model,
            self._tokenizer,
            premises,
            hypotheses,
            device=self.device,
            batch_size=self.batch_size,
            max_length=self.max_length,
        )

    def score_pairs(self, sources: Sequence[str], outputs: Sequence[str]) -> EntailmentScores:
        """Entailment both ways for aligned (source, output) pairs."""
        fwd = self.probabilities(sources, outputs)
        bwd = self.probabilities(outputs, sources)
        e, c = self.entailment_index, self.contradiction_index
        flip = (fwd.argmax(axis=1) == c) | (bwd.argmax(axis=1) == c) if len(fwd) else np.zeros(0, dtype=bool)
        return EntailmentScores(
            forward=fwd[:, e],
            backward=bwd[:, e],
            contradiction_forward=fwd[:, c],
            contradiction_backward=bwd[:, c],
            stance_flip=np.asarray(flip, dtype=bool),
        )


def nli_label_indices(id2label: Mapping[int, str] | Mapping[str, str]) -> tuple[int, int]:
    """(entailment index, contradiction index) from a model config's ``id2label``."""
    entail = [int(i) for i, name in id2label.items() if "entail" in str(name).lower()]
    contra = [int(i) for i, name in id2label.items() if "contradict" in str(name).lower()]
    if len(entail) != 1 or len(contra) != 1:
        raise DembiasError(
            f"not an NLI model: config.id2label {dict(id2label)} needs exactly one label naming entailment "
            "and one naming contradiction"
        )
    return entail[0], contra[0]


# --------------------------------------------------------------------------------------------------
# review score


def flag_weight(kinds: Sequence[str]) -> float:
    """Sum of :data:`FLAG_WEIGHTS` over flag kinds (matched by the part before ``_``)."""
    return float(sum(FLAG_WEIGHTS.get(kind.split("_")[0], 0.5) for kind in kinds))


def review_score(
    *, percentile: float, flag_kinds: Sequence[str], entailment_min: float | None = None, stance_flip: bool = False
) -> float:
    """The "needs review" score in [0, 1] (formula in the module docstring)."""
    r_sem = 0.0 if np.isnan(percentile) else 1.0 - percentile / 100.0
    r_flags = 1.0 - 0.5 ** flag_weight(flag_kinds)
    if stance_flip:
        r_nli = 1.0
    elif entailment_min is None or np.isnan(entailment_min):
        r_nli = 0.0
    else:
        r_nli = 1.0 - float(entailment_min)
    return float(1.0 - (1.0 - r_sem) * (1.0 - r_flags) * (1.0 - r_nli))


# --------------------------------------------------------------------------------------------------
# aggregates and tests


AGGREGATE_COLUMNS = ["metric", "dimension", "value", "n", "n_contributors", "mean", "low", "high", "suppressed"]
TEST_COLUMNS = [
    "metric",
    "dimension",
    "group_a",
    "group_b",
    "n_a",
    "n_b",
    "mean_a",
    "mean_b",
    "difference",
    "p_value",
    "q_value",
]


def aggregate(
    pairs: pd.DataFrame,
    *,
    metrics: Sequence[str],
    dimensions: Sequence[str],
    k: int = DEFAULT_K,
    n_resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Mean of each metric per value of each dimension, with a bootstrap 95% interval.

    ``pairs`` has one row per output, the metric columns, the dimension columns and ``contributors``
    (a list of the source authors' pseudonyms, or of source ids when authors are unknown). A cell with
    fewer than ``k`` distinct contributors is suppressed: its mean and interval are NaN. Rows whose
    dimension value is missing are left out of that dimension. The dimension ``all`` covers every row.
    """
    rows = []
    for dimension in ["all", *dimensions]:
        if dimension != "all" and dimension not in pairs.columns:
            continue
        groups = (
            [("all", pairs)]
            if dimension == "all"
            else [(str(v), g) for v, g in pairs.dropna(subset=[dimension]).groupby(dimension, sort=True)]
        )
        for value, group in groups:
            n_contributors = len({c for cs in group["contributors"] for c in cs})
            suppressed = n_contributors < k
            for metric in metrics:
                values = group[metric].to_numpy(dtype=float)
                mean = low = high = float("nan")
                if not suppressed:
                    mean, low, high = bootstrap_mean_ci(values, n_resamples=n_resamples, seed=seed)
                rows.append(
                    {
                        "metric": metric,
                        "dimension": dimension,
                        "value": value,
                        "n": len(group),
                        "n_contributors": n_contributors,
                        "mean": mean,
                        "low": low,
                        "high": high,
                        "suppressed": suppressed,
                    }
                )
    return pd.DataFrame(rows, columns=AGGREGATE_COLUMNS)


def group_tests(
    pairs: pd.DataFrame,
    *,
    metrics: Sequence[str],
    dimensions: Sequence[str],
    k: int = DEFAULT_K,
    n_permutations: int = 10000,
    seed: int = 0,
) -> pd.DataFrame:
    """Permutation tests of differences between groups, with Benjamini-Hochberg q-values across all tests.

    For each dimension with at least two non-suppressed values: each value against the rest (for two
    values, one test). The dimension ``cluster_size`` (values ``minority``/``majority``) gives the
    minority-versus-majority test. Groups with fewer than ``k`` contributors are not tested.
    """
    rows = []
    for dimension in dimensions:
        if dimension not in pairs.columns:
            continue
        data = pairs.dropna(subset=[dimension])
        sizes = {
            str(v): len({c for cs in g["contributors"] for c in cs}) for v, g in data.groupby(dimension, sort=True)
        }
        kept = [v for v, n in sizes.items() if n >= k]
        if len(kept) < 2:
            continue
        data = data[data[dimension].astype(str).isin(kept)]
        labels = data[dimension].astype(str)
        comparisons = [(kept[0], kept[1])] if len(kept) == 2 else [(v, "rest") for v in kept]
        for group_a, group_b in comparisons:
            in_a = labels == group_a
            in_b = labels == group_b if group_b != "rest" else ~in_a
            for metric in metrics:
                a = data.loc[in_a, metric].to_numpy(dtype=float)
                b = data.loc[in_b, metric].to_numpy(dtype=float)
                p = permutation_test(a, b, n_permutations=n_permutations, seed=seed)
                rows.append(
                    {
                        "metric": metric,
                        "dimension": dimension,
                        "group_a": group_a,
                        "group_b": group_b,
                        "n_a": int(np.count_nonzero(~np.isnan(a))),
                        "n_b": int(np.count_nonzero(~np.isnan(b))),
                        "mean_a": float(np.nanmean(a)) if a.size else float("nan"),
                        "mean_b": float(np.nanmean(b)) if b.size else float("nan"),
                        "difference": float(np.nanmean(a) - np.nanmean(b)) if a.size and b.size else float("nan"),
                        "p_value": p,
                    }
                )
    frame = pd.DataFrame(rows, columns=TEST_COLUMNS[:-1])
    frame["q_value"] = benjamini_hochberg(frame["p_value"].to_numpy()) if len(frame) else []
    return frame[TEST_COLUMNS]


def minority_clusters(sizes: Mapping[str, int], *, share: float = 0.2, noise: str = "-1") -> set[str]:
    """The smallest clusters that together hold at most ``share`` of the clustered contributions.

    Clusters are taken smallest first (ties by id) while the running total stays within ``share`` of
    all non-noise contributions; the noise bucket is neither minority nor majority.
    """
    clustered = {c: n for c, n in sizes.items() if c != noise}
    total = sum(clustered.values())
    chosen: set[str] = set()
    running = 0
    for cluster, n in sorted(clustered.items(), key=lambda item: (item[1], item[0])):
        if total and running + n <= share * total:
            chosen.add(cluster)
            running += n
        else:
            break
    return chosen
