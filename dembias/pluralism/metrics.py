"""Pluralism of a summary (DESIGN.md §5): coverage, topic survival, representation, UER, unfair
flags, Equal Coverage / Coverage Parity, justified representation, opinion groups and vote-grounded
checks, each beside a random-links placebo.

Everything here is a pure function over DataFrames and arrays; :mod:`dembias.pluralism.scoring` loads the
inputs from a workspace and writes the results as a run.

Definitions used (where DESIGN.md leaves a choice, the choice is stated here):

* **Coverage** p(d) of a contribution d is 1 when at least one unit of the summary links to it, else
  0 (links are deterministic: citation, calibrated similarity or NLI; see :mod:`dembias.pluralism.align`).
* **Clusters** come from the mapping run; cluster ``-1`` is the noise bucket. p_s(c) = |c| / N with N
  every scored contribution, noise included. The noise bucket is reported (``cluster_coverage`` row
  ``-1``) but never counted as a cluster: survival, UER, BUR and JR average over real clusters only.
  A cluster is **covered** when at least one unit links to one of its contributions.
* **Minority topics** (never called opinion minorities: a small topic is not a small opinion group):
  clusters sorted by size ascending (ties by id); a cluster is a minority topic when it and every
  smaller cluster together hold at most ``minority_share`` (default 0.2) of the N contributions. The
  others are majority topics. Minority topic gap = survival(majority topics) - survival(minority
  topics). Metric names say ``topic``; *opinion groups* (vote groups) are scored by
  :mod:`dembias.pluralism.opinion_groups`, *declared groups* (``group_by`` columns) in ``group_coverage``.
* **Representation** p_t(v): each unit that links to at least one contribution with a known value
  carries weight 1, split equally among the *distinct* values (clusters, vote groups, languages...)
  of the contributions it links to; p_t(v) = weight of v / number of such units. Units that link to
  nothing (introductions, headings) do not count.
* **UER** over a dimension V = (1/|V|) Σ_v max(0, p_s(v) - p_t(v)); the summary is **unfair** on V
  when some v has p_t(v) <= ``unfair_ratio`` (0.8) * p_s(v) (``unfair_topics``, a 0/1 flag without
  interval). BUR (Zhang et al. 2024) is the share of unfair summaries over a *set* of summaries (a
  model across debates, prompts or samples): :func:`binary_unfair_rate`. It is not a per-summary
  score: with a dozen topics nearly every single summary is "unfair", so BUR of one summary does not
  discriminate and is not shown as one.
* **Vote group** of a contribution: the opinion group that agrees with it most (highest agree rate
  in ``comment_group_votes``; ties go to the lowest group id); contributions no group voted on have
  none and are left out of the vote-group dimension.
* **Equal Coverage** (Li et al. 2025) over a dimension = mean over its groups g of
  |mean_{d in g} p(d) - mean_d p(d)|; **Coverage Parity** of g is the signed difference
  mean_{d in g} p(d) - mean_d p(d). Groups with fewer than ``min_cell`` contributors are suppressed
  (rates None, ``suppressed`` true) and left out of Equal Coverage.
* **Justified representation** (Fish et al.): with k units, every cluster holding at least N/k
  contributions must be covered; uncovered ones are reported as violations. k is the number of
  units that **carry content**: units with at least one link to a scored contribution. Headings,
  introductions and theme labels that link to nothing do not count, because a structured report
  (the Sensemaker/Gemini one has 577 units of which 131 cite contributions) would otherwise make
  N/k about 1 and the check vacuous. With no linked unit, k = 0 and the threshold is infinite (no
  violation is reported; survival and coverage already say the summary carries nothing). The
  scores record ``jr_k`` and ``jr_threshold`` = N/k, and every violation row carries both.
* **Vote-grounded checks**: each vote group's most representative comment (highest Polis
  representativeness) should survive; every comment cited by a unit of kind ``common_ground`` should be
  agreed by all groups: agree rate > 0.5 in every vote group, or GAC >= ``gac_threshold`` when one is
  given.
* **Placebo** (:mod:`dembias.pluralism.placebo`): the same summary with each unit's links redrawn at
  random among the debate's contributions (same number of links per unit), scored by the same code;
  every headline has ``placebo:<metric>`` (mean of the draws) beside it.
* **Intervals**: a bootstrap over contributions, bias-corrected (BC) so that no estimate falls
  outside its own interval (:func:`dembias.uncertainty.bias_corrected_interval`; an interval
  widened to reach its estimate is marked in the ``note`` column). The summary (its units and links) is fixed; what
  varies is the debate's composition. A contribution enters every headline statistic only through
  its cell (cluster, covered, vote group), so resampling N contributions with replacement is exactly a
  multinomial draw of the cell counts, which is what is drawn (``n_resamples`` times, seeded). In a
  resample, p_s, the minority set and the clusters present are recomputed; whether a cluster is
  covered is the full summary's fact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dembias.minority import NOISE, minority_cluster_ids
from dembias.pluralism.group_coverage import dimension_scores, group_coverage
from dembias.pluralism.score_rows import NAN, ScoreRow, widened_note
from dembias.pluralism.topics import (
    TOPIC_INTERVAL_METRICS,
    UNDER_REPRESENTED_RATIO,
    TopicCells,
    topic_headlines,
    unit_shares,
)
from dembias.pluralism.vote_grounded import VoteGrounded
from dembias.small_cells import MIN_CELL
from dembias.uncertainty import bias_corrected_interval

#: Every headline metric with an interval (opinion groups: a bootstrap over participants).
INTERVAL_METRICS = (*TOPIC_INTERVAL_METRICS, "uer_opinion_groups")


@dataclass
class PluralismResult:
    """The results of scoring one summary (every frame is for that one output)."""

    scores: pd.DataFrame  # metric, value, low, high, note
    cluster_coverage: pd.DataFrame  # cluster, size, p_s, p_t, ratio, covered, is_minority
    coverage: pd.DataFrame  # contribution_id, p
    group_coverage: pd.DataFrame  # dimension, value, n, n_contributors, p_s, p_t, mean_coverage, parity, suppressed
    jr_violations: pd.DataFrame  # cluster, size, k, threshold
    representatives: pd.DataFrame  # vote_group, contribution_id, representativeness, covered
    common_ground: pd.DataFrame  # unit_index, contribution_id, gac, min_agree_rate, agreed_by_all
    opinion_groups: pd.DataFrame = field(default_factory=pd.DataFrame)  # see metrics.opinion_groups
    unit_stances: pd.DataFrame = field(default_factory=pd.DataFrame)  # unit_index, stance, vote_group, ...
    info: dict = field(default_factory=dict)

    def headline(self) -> dict:
        """Metric name -> {"value", "low", "high"} (low/high None without an interval)."""
        out = {}
        for row in self.scores.itertuples(index=False):
            out[row.metric] = {"value": _none(row.value), "low": _none(row.low), "high": _none(row.high)}
        return out


def _none(x: object) -> object:
    if x is None:
        return None
    try:
        return None if np.isnan(x) else float(x)
    except TypeError:
        return x


# --------------------------------------------------------------------------------------------------
# the whole audit of one summary


def score_pluralism(  # noqa: PLR0913 (a pure metric function: every option is a keyword its caller names)
    contributions: pd.DataFrame,
    assignments: pd.DataFrame,
    links: pd.DataFrame,
    *,
    n_units: int | None = None,
    units: pd.DataFrame | None = None,
    comment_group_votes: pd.DataFrame | None = None,
    consensus: pd.DataFrame | None = None,
    participant_groups: pd.Series | None = None,
    group_by: Sequence[str] = (),
    minority_share: float = 0.2,
    unfair_ratio: float = UNDER_REPRESENTED_RATIO,
    min_cell: int = MIN_CELL,
    gac_threshold: float | None = None,
    n_resamples: int = 1000,
    n_placebo: int = 20,
    seed: int = 0,
    confidence: float = 0.95,
) -> PluralismResult:
    """Score the pluralism of one summary (see the module docstring for every definition).

    Args:
        contributions: one row per scored contribution: ``contribution_id`` and any attribute columns
            (``language``, ``country``, ``author_pid``, and those named in ``group_by``).
        assignments: ``contribution_id``, ``cluster`` (-1 noise); contributions without a row count as
            noise.
        links: the summary's links, ``unit_index``, ``contribution_id`` (links to contributions not in
            ``contributions`` are ignored). Duplicate and content-free units must already be left out
            (:mod:`dembias.pluralism.align`).
        n_units: the number of units of the output, reported as ``n_units`` (default: the rows of
            ``units``, else the number of distinct linked units). It is *not* k of justified
            representation, which counts the linked units only (module docstring).
        units: ``unit_index``, ``kind`` (for the common-ground check).
        comment_group_votes: per comment and vote group, ``n_agree``, ``n_disagree``, ``n_pass``,
            ``agree_rate``, ``representativeness`` (enables opinion groups and the vote-grounded checks).
        consensus: ``contribution_id``, ``gac`` (computed from ``comment_group_votes`` when absent).
        participant_groups: the vote group of each grouped participant (p_s of opinion groups); without
            it, each contribution's vote group stands in for its author.
        group_by: attribute columns to slice by besides language and country (declared groups).
        min_cell: cells with fewer contributors (distinct ``author_pid`` when present) are suppressed.
        n_placebo: random-links draws for the placebo (0: none).
    """
    _check_options(n_resamples=n_resamples, minority_share=minority_share)
    base = SummaryBase.build(contributions, assignments, links)
    stat = {"unfair_ratio": unfair_ratio, "n_resamples": n_resamples, "seed": seed, "confidence": confidence}
    topics = TopicScores.build(base, minority_share=minority_share, **stat)
    votes = VoteGrounded.build(
        base, comment_group_votes, consensus, participant_groups, units, gac_threshold=gac_threshold, min_cell=min_cell, **stat
    )  # fmt: skip
    groups = group_coverage(base.contrib, votes.vote_group, base.covered, base.links, group_by=group_by, min_cell=min_cell, **stat)  # fmt: skip
    n_all_units = n_units if n_units is not None else (len(units) if units is not None else base.links["unit_index"].nunique())  # fmt: skip
    placebo = {"n_draws": n_placebo, "seed": seed, "minority_share": minority_share, "unfair_ratio": unfair_ratio}
    rows = _score_rows(base, topics, votes, groups, n_units=n_all_units, unfair_ratio=unfair_ratio, placebo=placebo if n_placebo else None)  # fmt: skip
    info = {
        "n": base.n, "n_units": n_all_units, "jr_k": topics.jr_k, "jr_threshold": topics.jr_threshold,
        "minority_share": minority_share, "n_resamples": n_resamples, "n_placebo": n_placebo, "seed": seed,
    }  # fmt: skip
    return _result(base, topics, votes, groups, rows, info)


def _score_rows(
    base: SummaryBase,
    topics: TopicScores,
    votes: VoteGrounded,
    groups: pd.DataFrame,
    *,
    n_units: int,
    unfair_ratio: float,
    placebo: dict | None,
) -> list[ScoreRow]:
    """The ``scores`` rows in their order: topic headlines, opinion groups, counts, checks, dimensions, placebo."""
    rows = [*topics.interval_rows, *votes.opinion_rows(), topics.unfair_row, *topics.count_rows(base, n_units)]
    rows += [*votes.check_rows(), *dimension_scores(groups, unfair_ratio)]
    if placebo is not None:
        rows += votes.placebo_rows(topics.cells, base.links, **placebo)
    return rows


def _result(
    base: SummaryBase,
    topics: TopicScores,
    votes: VoteGrounded,
    groups: pd.DataFrame,
    score_rows: list[ScoreRow],
    info: dict,
) -> PluralismResult:
    """The tables of one scored summary, assembled from its steps."""
    return PluralismResult(
        scores=pd.DataFrame(score_rows, columns=["metric", "value", "low", "high", "note"]),
        cluster_coverage=topics.cluster_coverage,
        coverage=pd.DataFrame({"contribution_id": base.ids, "p": base.covered}),
        group_coverage=groups.drop(columns=["p_t_raw"], errors="ignore"),
        jr_violations=topics.jr_violations,
        representatives=votes.representatives,
        common_ground=votes.common_ground,
        opinion_groups=votes.opinion,
        unit_stances=votes.stances,
        info=info,
    )


def _check_options(*, n_resamples: int, minority_share: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0.0 < minority_share < 1.0:
        raise ValueError(f"minority_share must be in (0, 1), got {minority_share}")


@dataclass
class SummaryBase:
    """The scored contributions (sorted by id), their clusters, and the summary's links to them."""

    contrib: pd.DataFrame
    ids: pd.Series
    n: int
    cluster: pd.Series
    cluster_labels: pd.Series
    links: pd.DataFrame
    id_index: pd.Index
    linked: set[str]
    covered: np.ndarray

    @classmethod
    def build(cls, contributions: pd.DataFrame, assignments: pd.DataFrame, links: pd.DataFrame) -> SummaryBase:
        contrib = contributions.copy()
        contrib["contribution_id"] = contrib["contribution_id"].astype(str)
        contrib = contrib.drop_duplicates("contribution_id").sort_values("contribution_id").reset_index(drop=True)
        ids = contrib["contribution_id"]
        n = len(contrib)
        if n == 0:
            raise ValueError("no contribution to score against")
        assign = assignments.assign(contribution_id=assignments["contribution_id"].astype(str))
        cluster_of = assign.drop_duplicates("contribution_id").set_index("contribution_id")["cluster"]
        cluster = ids.map(cluster_of).fillna(NOISE).astype(int)
        cluster_labels = pd.Series(cluster.to_numpy(), index=ids.to_numpy())
        links = links.assign(contribution_id=links["contribution_id"].astype(str))
        id_index = pd.Index(ids.to_numpy(dtype=object))
        links = links[id_index.get_indexer(links["contribution_id"].to_numpy(dtype=object)) >= 0]
        linked = set(links["contribution_id"])
        covered = np.zeros(n)
        covered[id_index.get_indexer(np.asarray(sorted(linked), dtype=object))] = 1.0
        return cls(contrib, ids, n, cluster, cluster_labels, links, id_index, linked, covered)


@dataclass
class TopicScores:
    """The topic side of one summary: the cluster table, justified representation and the topic headlines."""

    cluster_coverage: pd.DataFrame
    cluster_ids: np.ndarray
    minority: np.ndarray
    jr_violations: pd.DataFrame
    jr_k: int
    jr_threshold: float
    cells: TopicCells
    interval_rows: list[ScoreRow]
    unfair_row: ScoreRow

    @classmethod
    def build(
        cls,
        base: SummaryBase,
        *,
        minority_share: float,
        unfair_ratio: float,
        n_resamples: int,
        seed: int,
        confidence: float,
    ) -> TopicScores:
        cluster_coverage, cluster_ids, minority, p_t_clusters, covered_clusters = _cluster_table(
            base.cluster, base.cluster_labels, base.covered, base.links, base.n, minority_share
        )
        jr_violations, jr_k, jr_threshold = _justified_representation(cluster_coverage, base.links, base.n)
        cells = TopicCells.build(base.ids, base.cluster)
        interval_rows, unfair_row = _topic_rows(
            cells, base.covered, base.n, cluster_ids=cluster_ids, covered_clusters=covered_clusters,
            p_t_clusters=p_t_clusters, minority_share=minority_share, unfair_ratio=unfair_ratio,
            n_resamples=n_resamples, seed=seed, confidence=confidence,
        )  # fmt: skip
        return cls(
            cluster_coverage, cluster_ids, minority, jr_violations, jr_k, jr_threshold, cells, interval_rows, unfair_row
        )

    def count_rows(self, base: SummaryBase, n_units: int) -> list[ScoreRow]:
        """Justified representation, the numbers of clusters and minority topics, noise and unit counts."""
        return [
            ("jr_violations", float(len(self.jr_violations)), NAN, NAN, None),
            ("jr_k", float(self.jr_k), NAN, NAN, None),
            ("jr_threshold", float(self.jr_threshold), NAN, NAN, None),
            ("n_clusters", float(len(self.cluster_ids)), NAN, NAN, None),
            ("n_minority_topics", float(self.minority.sum()), NAN, NAN, None),
            ("noise_share", float((base.cluster == NOISE).mean()), NAN, NAN, None),
            ("n_units", float(n_units), NAN, NAN, None),
            ("n_linked_units", float(base.links["unit_index"].nunique()), NAN, NAN, None),
        ]


def _topic_rows(
    cells: TopicCells,
    covered: np.ndarray,
    n: int,
    *,
    cluster_ids: np.ndarray,
    covered_clusters: set[int],
    p_t_clusters: pd.Series,
    n_resamples: int,
    seed: int,
    confidence: float,
    **headline_options: float,
) -> tuple[list[ScoreRow], ScoreRow]:
    """Topic headlines with their bias-corrected bootstrap intervals, and the ``unfair_topics`` row."""
    cell_cluster, cell_covered, counts = cells.counts(covered.astype(bool))
    kwargs = {
        "cluster_covered": np.array([c in covered_clusters for c in cluster_ids], dtype=bool),
        "cluster_p_t": np.array([p_t_clusters.get(c, 0.0) for c in cluster_ids], dtype=float),
        **headline_options,
    }
    point = topic_headlines(counts, cell_cluster, cell_covered, **kwargs)
    draws = np.random.default_rng(seed).multinomial(n, counts / n, size=n_resamples)
    boot = topic_headlines(draws, cell_cluster, cell_covered, **kwargs)
    rows: list[ScoreRow] = []
    for metric in TOPIC_INTERVAL_METRICS:
        value = float(point[metric][0])
        low, high, widened = bias_corrected_interval(value, boot[metric], confidence=confidence)
        rows.append((metric, value, low, high, widened_note(widened)))
    return rows, ("unfair_topics", float(point["unfair_topics"][0]), NAN, NAN, None)


def _cluster_table(
    cluster: pd.Series,
    cluster_labels: pd.Series,
    covered: np.ndarray,
    links: pd.DataFrame,
    n: int,
    minority_share: float,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, pd.Series, set[int]]:
    """Per cluster: size, p_s, p_t, ratio, covered, is_minority (noise last, never a minority topic)."""
    cluster_ids = np.array(sorted(c for c in cluster.unique() if c != NOISE), dtype=int)
    sizes = cluster.value_counts()
    p_t_clusters = unit_shares(links, cluster_labels)
    covered_clusters = set(cluster[covered > 0].unique())
    minority_ids = minority_cluster_ids(
        {int(c): int(k) for c, k in sizes.items()}, n_total=n, minority_share=minority_share
    )
    rows = []
    for c in cluster_ids:
        is_min = int(c) in minority_ids
        p_s = sizes[c] / n
        p_t = float(p_t_clusters.get(c, 0.0))
        rows.append((int(c), int(sizes[c]), p_s, p_t, p_t / p_s, c in covered_clusters, bool(is_min)))
    if NOISE in sizes.index:
        p_s = sizes[NOISE] / n
        p_t = float(p_t_clusters.get(NOISE, 0.0))
        rows.append((NOISE, int(sizes[NOISE]), p_s, p_t, p_t / p_s, NOISE in covered_clusters, False))
    table = pd.DataFrame(rows, columns=["cluster", "size", "p_s", "p_t", "ratio", "covered", "is_minority"]).astype(
        {"cluster": "int64", "size": "int64", "covered": bool, "is_minority": bool}
    )
    minority = np.array([int(c) in minority_ids for c in cluster_ids], dtype=bool)
    return table, cluster_ids, minority, p_t_clusters, covered_clusters


def _justified_representation(
    cluster_coverage: pd.DataFrame, links: pd.DataFrame, n: int
) -> tuple[pd.DataFrame, int, float]:
    """JR violations with k = distinct units carrying content (links come deduplicated)."""
    jr_k = int(links["unit_index"].nunique())
    jr_threshold = n / jr_k if jr_k else float("inf")
    jr = cluster_coverage[(cluster_coverage["cluster"] != NOISE) & (cluster_coverage["size"] >= jr_threshold)]
    jr = jr[~jr["covered"]]
    violations = pd.DataFrame(
        {
            "cluster": jr["cluster"].to_numpy(dtype="int64"),
            "size": jr["size"].to_numpy(dtype="int64"),
            "k": np.full(len(jr), jr_k, dtype="int64"),
            "threshold": np.full(len(jr), float(jr_threshold)),
        }
    )
    return violations, jr_k, jr_threshold
