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
from dembias.pluralism.opinion_groups import (
    OPINION_GROUP_COLUMNS,
    STANCE_COLUMNS,
    GroupVotes,
    opinion_group_table,
    unit_stances,
)
from dembias.pluralism.placebo import placebo_headlines
from dembias.pluralism.topics import (
    TOPIC_INTERVAL_METRICS,
    UNDER_REPRESENTED_RATIO,
    TopicCells,
    topic_headlines,
    unit_shares,
)
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
# building blocks


def group_aware_consensus(comment_group_votes: pd.DataFrame) -> pd.DataFrame:
    """Polis group-aware consensus GAC(c) = Π_g (A_g + 1) / (S_g + 2) per comment.

    A_g is the number of agrees of group g on the comment, S_g the number of its members who voted on
    it (agree, disagree or pass). Input columns: contribution_id, vote_group, n_agree, n_disagree,
    n_pass. Returns contribution_id, gac sorted by contribution_id.
    """
    frame = comment_group_votes
    seen = frame["n_agree"] + frame["n_disagree"] + frame["n_pass"]
    factor = (frame["n_agree"] + 1.0) / (seen + 2.0)
    gac = factor.groupby(frame["contribution_id"].astype(str)).prod()
    return gac.rename("gac").rename_axis("contribution_id").reset_index().sort_values("contribution_id")


def contribution_vote_groups(comment_group_votes: pd.DataFrame) -> pd.Series:
    """The vote group that agrees most with each contribution (contribution_id -> group).

    Highest ``agree_rate``; ties go to the lowest group id; rows with no vote or a NaN rate are skipped,
    so a contribution no group voted on is absent from the result.
    """
    frame = comment_group_votes.copy()
    frame["contribution_id"] = frame["contribution_id"].astype(str)
    total = frame["n_agree"] + frame["n_disagree"] + frame["n_pass"]
    frame = frame[(total > 0) & frame["agree_rate"].notna()]
    frame = frame.sort_values(["contribution_id", "agree_rate", "vote_group"], ascending=[True, False, True])
    best = frame.drop_duplicates("contribution_id")
    return best.set_index("contribution_id")["vote_group"]


def uer(p_s: pd.Series, p_t: pd.Series) -> float:
    """Unfair error rate (1/|V|) Σ_v max(0, p_s(v) - p_t(v)) over the values of ``p_s``."""
    if len(p_s) == 0:
        return float("nan")
    p_t = p_t.reindex(p_s.index).fillna(0.0)
    return float(np.maximum(0.0, p_s - p_t).mean())


def is_unfair(p_s: pd.Series, p_t: pd.Series, *, unfair_ratio: float = UNDER_REPRESENTED_RATIO) -> float:
    """1.0 when some value has p_t(v) <= unfair_ratio * p_s(v), else 0.0 (nan with no value)."""
    if len(p_s) == 0:
        return float("nan")
    p_t = p_t.reindex(p_s.index).fillna(0.0)
    return float(bool(np.any(p_t <= unfair_ratio * p_s)))


def binary_unfair_rate(unfair_flags: Sequence[float]) -> tuple[float, int]:
    """BUR (Zhang et al. 2024): the share of unfair summaries in a set, and the set's size (NaNs left out)."""
    flags = np.asarray([f for f in unfair_flags if f is not None and not np.isnan(f)], dtype=float)
    return (float(flags.mean()) if flags.size else float("nan"), int(flags.size))


# --------------------------------------------------------------------------------------------------
# the whole audit of one summary


def score_pluralism(
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
    base = _SummaryBase.build(contributions, assignments, links)
    n, links = base.n, base.links
    cluster_coverage, cluster_ids, minority, p_t_clusters, covered_clusters = _cluster_table(
        base.cluster, base.cluster_labels, base.covered, links, n, minority_share
    )
    n_all_units = (
        n_units if n_units is not None else (len(units) if units is not None else links["unit_index"].nunique())
    )
    jr_violations, jr_k, jr_threshold = _justified_representation(cluster_coverage, links, n)
    votes = _VoteGrounded.build(
        base, comment_group_votes, consensus, participant_groups, units, gac_threshold=gac_threshold,
        unfair_ratio=unfair_ratio, min_cell=min_cell, n_resamples=n_resamples, seed=seed, confidence=confidence,
    )  # fmt: skip
    # declared groups and other dimensions
    group_coverage = _group_coverage(
        base.contrib, votes.vote_group, base.covered, links, group_by=group_by, min_cell=min_cell,
        unfair_ratio=unfair_ratio, n_resamples=n_resamples, seed=seed, confidence=confidence,
    )  # fmt: skip
    cells = TopicCells.build(base.ids, base.cluster)
    score_rows, unfair_topics = _topic_rows(
        cells, base.covered, n, cluster_ids=cluster_ids, covered_clusters=covered_clusters,
        p_t_clusters=p_t_clusters, minority_share=minority_share, unfair_ratio=unfair_ratio,
        n_resamples=n_resamples, seed=seed, confidence=confidence,
    )  # fmt: skip
    score_rows += [*votes.opinion_rows(), unfair_topics]
    score_rows += [
        ("jr_violations", float(len(jr_violations)), NAN, NAN, None),
        ("jr_k", float(jr_k), NAN, NAN, None),
        ("jr_threshold", float(jr_threshold), NAN, NAN, None),
        ("n_clusters", float(len(cluster_ids)), NAN, NAN, None),
        ("n_minority_topics", float(minority.sum()), NAN, NAN, None),
        ("noise_share", float((base.cluster == NOISE).mean()), NAN, NAN, None),
        ("n_units", float(n_all_units), NAN, NAN, None),
        ("n_linked_units", float(links["unit_index"].nunique()), NAN, NAN, None),
    ]
    score_rows += votes.check_rows()
    score_rows += _dimension_scores(group_coverage, unfair_ratio)
    if n_placebo:
        score_rows += votes.placebo_rows(
            cells, links, n_draws=n_placebo, seed=seed, minority_share=minority_share, unfair_ratio=unfair_ratio
        )
    return PluralismResult(
        scores=pd.DataFrame(score_rows, columns=["metric", "value", "low", "high", "note"]),
        cluster_coverage=cluster_coverage,
        coverage=pd.DataFrame({"contribution_id": base.ids, "p": base.covered}),
        group_coverage=group_coverage.drop(columns=["p_t_raw"], errors="ignore"),
        jr_violations=jr_violations,
        representatives=votes.representatives,
        common_ground=votes.common_ground,
        opinion_groups=votes.opinion,
        unit_stances=votes.stances,
        info={
            "n": n,
            "n_units": n_all_units,
            "jr_k": jr_k,
            "jr_threshold": jr_threshold,
            "minority_share": minority_share,
            "n_resamples": n_resamples,
            "n_placebo": n_placebo,
            "seed": seed,
        },
    )


NAN = float("nan")
ScoreRow = tuple[str, float, float, float, str | None]


def _check_options(*, n_resamples: int, minority_share: float) -> None:
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0.0 < minority_share < 1.0:
        raise ValueError(f"minority_share must be in (0, 1), got {minority_share}")


@dataclass
class _SummaryBase:
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
    def build(cls, contributions: pd.DataFrame, assignments: pd.DataFrame, links: pd.DataFrame) -> _SummaryBase:
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
class _VoteGrounded:
    """Opinion groups and the vote-grounded checks (empty without the debate's votes)."""

    vote_group: pd.Series
    representatives: pd.DataFrame
    common_ground: pd.DataFrame
    stances: pd.DataFrame
    opinion: pd.DataFrame
    opinion_head: dict[str, tuple[float, float, float, bool]] = field(default_factory=dict)
    group_votes: GroupVotes | None = None
    members: pd.Series | None = None

    @classmethod
    def build(
        cls,
        base: _SummaryBase,
        comment_group_votes: pd.DataFrame | None,
        consensus: pd.DataFrame | None,
        participant_groups: pd.Series | None,
        units: pd.DataFrame | None,
        **options: object,
    ) -> _VoteGrounded:
        empty = cls(
            vote_group=pd.Series(np.nan, index=base.ids.to_numpy()),
            representatives=pd.DataFrame(columns=["vote_group", "contribution_id", "representativeness", "covered"]),
            common_ground=pd.DataFrame(
                columns=["unit_index", "contribution_id", "gac", "min_agree_rate", "agreed_by_all"]
            ),
            stances=pd.DataFrame(columns=STANCE_COLUMNS),
            opinion=pd.DataFrame(columns=OPINION_GROUP_COLUMNS),
        )
        if comment_group_votes is None or comment_group_votes.empty:
            return empty
        gac_threshold = options.pop("gac_threshold")
        cgv = comment_group_votes.assign(contribution_id=comment_group_votes["contribution_id"].astype(str))
        cgv = cgv[base.id_index.get_indexer(cgv["contribution_id"].to_numpy(dtype=object)) >= 0]
        vote_group = base.ids.map(contribution_vote_groups(cgv))
        vote_group.index = base.ids.to_numpy()
        if consensus is None:
            consensus = group_aware_consensus(cgv)
        group_votes = GroupVotes.build(cgv)
        stances = unit_stances(base.links, group_votes)
        members = participant_groups if participant_groups is not None else vote_group.dropna().astype(int)
        opinion, opinion_head = empty.opinion, empty.opinion_head
        if len(members):
            opinion, opinion_head = opinion_group_table(members, stances, **options)
        return cls(
            vote_group=vote_group,
            representatives=_representatives(cgv, base.linked),
            common_ground=_common_ground(cgv, consensus, base.links, units, gac_threshold=gac_threshold),
            stances=stances,
            opinion=opinion,
            opinion_head=opinion_head,
            group_votes=group_votes,
            members=members,
        )

    def opinion_rows(self) -> list[ScoreRow]:
        """UER over opinion groups with its interval, the under-represented groups, units by stance."""
        if not self.opinion_head:
            return []
        value, low, high, widened = self.opinion_head["uer_opinion_groups"]
        under = self.opinion["under_represented"]
        rows: list[ScoreRow] = [
            ("uer_opinion_groups", value, low, high, _widened_note(widened)),
            ("unfair_opinion_groups", float(under.any()), NAN, NAN, None),
            ("opinion_groups_under_represented", float(under.sum()), NAN, NAN, None),
            ("n_opinion_groups", float(len(self.opinion)), NAN, NAN, None),
        ]
        for stance in ("group", "common_ground", "contested", "no_votes"):
            rows.append((f"units_stance:{stance}", float((self.stances["stance"] == stance).sum()), NAN, NAN, None))
        return rows

    def check_rows(self) -> list[ScoreRow]:
        """Survival of the representative comments and precision of the common-ground units."""
        rows: list[ScoreRow] = []
        if not self.representatives.empty:
            rows.append(("representative_survival", float(self.representatives["covered"].mean()), NAN, NAN, None))
        if not self.common_ground.empty:
            per_unit = self.common_ground.groupby("unit_index")["agreed_by_all"].all()
            precision = float(self.common_ground["agreed_by_all"].mean())
            rows.append(("common_ground_precision", precision, NAN, NAN, None))
            rows.append(("common_ground_units_grounded", float(per_unit.mean()), NAN, NAN, None))
        return rows

    def placebo_rows(self, cells: TopicCells, links: pd.DataFrame, **options: object) -> list[ScoreRow]:
        """The placebo: the same headlines with each unit's links redrawn at random."""
        grouped = len(self.opinion) > 0
        group_votes = self.group_votes
        placebo = placebo_headlines(
            cells, links, stances_of=(lambda lk: unit_stances(lk, group_votes)) if grouped else None,
            participant_groups=self.members if grouped else None, **options,
        )  # fmt: skip
        return [(f"placebo:{m}", v, lo, hi, "random links, same number per unit") for m, (v, lo, hi) in placebo.items()]


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
        rows.append((metric, value, low, high, _widened_note(widened)))
    return rows, ("unfair_topics", float(point["unfair_topics"][0]), NAN, NAN, None)


def _widened_note(widened: bool) -> str | None:
    return "bootstrap on one side of the estimate: interval widened to reach it" if widened else None


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


def _group_coverage(
    contrib: pd.DataFrame,
    vote_group: pd.Series,
    covered: np.ndarray,
    links: pd.DataFrame,
    *,
    group_by: Sequence[str],
    min_cell: int,
    unfair_ratio: float,
    n_resamples: int,
    seed: int,
    confidence: float,
) -> pd.DataFrame:
    """Coverage by vote group, language, country and every ``group_by`` column, with n and intervals."""
    dimensions = [c for c in ("language", "country") if c in contrib.columns and contrib[c].notna().any()]
    dimensions += [c for c in group_by if c not in dimensions]
    slices = []
    options = {
        "min_cell": min_cell, "unfair_ratio": unfair_ratio, "n_resamples": n_resamples,
        "seed": seed, "confidence": confidence,
    }  # fmt: skip
    if vote_group.notna().any():
        slices.append(
            _dimension_table("vote_group", vote_group.reset_index(drop=True), contrib, covered, links, **options)
        )
    for dim in dimensions:
        if dim not in contrib.columns:
            raise ValueError(f"no column {dim!r} to group by; columns: {sorted(contrib.columns)}")
        slices.append(_dimension_table(dim, contrib[dim], contrib, covered, links, **options))
    if slices:
        return pd.concat(slices, ignore_index=True)
    return pd.DataFrame(columns=GROUP_COVERAGE_COLUMNS)


def _dimension_scores(group_coverage: pd.DataFrame, unfair_ratio: float) -> list[tuple]:
    """UER, unfair flag and Equal Coverage per dimension (vote groups: see opinion groups)."""
    nan = float("nan")
    rows: list[tuple] = []
    for dim, table in group_coverage.groupby("dimension", sort=True):
        p_s = table.set_index("value")["p_s"]
        p_t = table.set_index("value")["p_t_raw"]
        ok = table[~table["suppressed"]]
        if dim != "vote_group":
            rows.append((f"uer:{dim}", uer(p_s, p_t), nan, nan, None))
            rows.append((f"unfair:{dim}", is_unfair(p_s, p_t, unfair_ratio=unfair_ratio), nan, nan, None))
            rows.append((f"under_represented:{dim}", float(table["under_represented"].sum()), nan, nan, None))
        equal = float(ok["parity"].abs().mean()) if len(ok) else nan
        rows.append((f"equal_coverage:{dim}", equal, nan, nan, f"{len(ok)} groups of {len(table)} not suppressed"))
    return rows


GROUP_COVERAGE_COLUMNS = [
    "dimension",
    "value",
    "n",
    "n_contributors",
    "p_s",
    "p_t",
    "mean_coverage",
    "coverage_low",
    "coverage_high",
    "parity",
    "under_represented",
    "suppressed",
]


def _dimension_table(
    dimension: str,
    values: pd.Series,
    contrib: pd.DataFrame,
    covered: np.ndarray,
    links: pd.DataFrame,
    *,
    min_cell: int,
    unfair_ratio: float,
    n_resamples: int,
    seed: int,
    confidence: float,
) -> pd.DataFrame:
    """One dimension's groups: n, contributors, p_s, p_t, coverage with a bootstrap interval, parity.

    Suppressed groups (fewer than ``min_cell`` contributors) show no rates, but are still counted as
    under-represented when p_t <= ``unfair_ratio`` p_s: suppression hides rates and quotes of a small
    cell, not the fact that the summary leaves it out.
    """
    values = values.reset_index(drop=True)
    labels = pd.Series(values.to_numpy(), index=contrib["contribution_id"].to_numpy()).dropna()
    known = values.notna().to_numpy()
    p_t = unit_shares(links, labels)
    overall = covered[known].mean() if known.any() else float("nan")
    authors = contrib["author_pid"] if "author_pid" in contrib.columns else None
    rng = np.random.default_rng(seed)
    alpha = (1 - confidence) / 2
    rows = []
    n_known = int(known.sum())
    for value in sorted(values.dropna().unique(), key=str):
        mask = (values == value).to_numpy()
        n_cell = int(mask.sum())
        if authors is not None and authors[mask].notna().any():
            contributors = int(authors[mask].nunique())
        else:
            contributors = n_cell
        suppressed = contributors < min_cell
        mean_cov = float(covered[mask].mean())
        draws = rng.binomial(n_cell, mean_cov, size=n_resamples) / n_cell
        low, high = (float(x) for x in np.quantile(draws, [alpha, 1 - alpha]))
        share_t = float(p_t.get(value, 0.0))
        p_s = n_cell / n_known
        rows.append(
            {
                "dimension": dimension,
                "value": str(value),
                "n": n_cell,
                "n_contributors": contributors,
                "p_s": p_s,
                "p_t": None if suppressed else share_t,
                "mean_coverage": None if suppressed else mean_cov,
                "coverage_low": None if suppressed else min(low, mean_cov),
                "coverage_high": None if suppressed else max(high, mean_cov),
                "parity": None if suppressed else mean_cov - overall,
                "under_represented": bool(share_t <= unfair_ratio * p_s),
                "suppressed": suppressed,
                "p_t_raw": share_t,
            }
        )
    frame = pd.DataFrame(rows)
    for column in ("p_t", "mean_coverage", "coverage_low", "coverage_high", "parity"):
        frame[column] = frame[column].astype(float)
    return frame


def _representatives(cgv: pd.DataFrame, linked: set[str]) -> pd.DataFrame:
    """Each vote group's most representative comment (ties: lowest id) and whether it survives."""
    frame = cgv.dropna(subset=["representativeness"]).sort_values(
        ["vote_group", "representativeness", "contribution_id"], ascending=[True, False, True]
    )
    best = frame.drop_duplicates("vote_group")[["vote_group", "contribution_id", "representativeness"]]
    best = best.assign(covered=best["contribution_id"].isin(linked))
    return best.reset_index(drop=True)


def _common_ground(
    cgv: pd.DataFrame,
    consensus: pd.DataFrame,
    links: pd.DataFrame,
    units: pd.DataFrame | None,
    *,
    gac_threshold: float | None,
) -> pd.DataFrame:
    """Links of units of kind ``common_ground`` with whether every group agrees with the comment."""
    columns = ["unit_index", "contribution_id", "gac", "min_agree_rate", "agreed_by_all"]
    if units is None or "kind" not in units.columns:
        return pd.DataFrame(columns=columns)
    cg_units = set(units.loc[units["kind"] == "common_ground", "unit_index"])
    cg_links = links[links["unit_index"].isin(cg_units)][["unit_index", "contribution_id"]].drop_duplicates()
    if cg_links.empty:
        return pd.DataFrame(columns=columns)
    n_groups = cgv["vote_group"].nunique()
    rates = cgv.assign(rate=cgv["agree_rate"].fillna(0.0)).groupby("contribution_id")
    min_rate = rates["rate"].min()
    n_seen = rates["vote_group"].nunique()
    gac = consensus.assign(contribution_id=consensus["contribution_id"].astype(str)).set_index("contribution_id")["gac"]
    out = cg_links.assign(
        gac=cg_links["contribution_id"].map(gac).astype(float),
        min_agree_rate=cg_links["contribution_id"].map(min_rate).astype(float),
    )
    all_groups = cg_links["contribution_id"].map(n_seen).fillna(0).to_numpy() == n_groups
    by_rate = all_groups & (out["min_agree_rate"].fillna(0.0).to_numpy() > 0.5)
    by_gac = (out["gac"].fillna(0.0).to_numpy() >= gac_threshold) if gac_threshold is not None else False
    out["agreed_by_all"] = by_rate | by_gac
    return out.sort_values(["unit_index", "contribution_id"]).reset_index(drop=True)
