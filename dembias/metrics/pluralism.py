"""Pluralism of a summary (DESIGN.md §5): coverage, cluster survival, representation, UER/BUR,
Equal Coverage / Coverage Parity, justified representation, and vote-grounded checks.

Everything here is a pure function over DataFrames and arrays; :mod:`dembias.scoring` loads the
inputs from a workspace and writes the results as a run.

Definitions used (where DESIGN.md leaves a choice, the choice is stated here):

* **Coverage** p(d) of a contribution d is 1 when at least one unit of the summary links to it, else
  0 (links are deterministic: citation, calibrated similarity or NLI; see :mod:`dembias.align`).
* **Clusters** come from the mapping run; cluster ``-1`` is the noise bucket. p_s(c) = |c| / N with N
  every scored contribution, noise included. The noise bucket is reported (``cluster_coverage`` row
  ``-1``) but never counted as a cluster: survival, UER, BUR and JR average over real clusters only.
  A cluster is **covered** when at least one unit links to one of its contributions.
* **Minority clusters**: clusters sorted by size ascending (ties by id); a cluster is a minority
  cluster when it and every smaller cluster together hold at most ``minority_share`` (default 0.2) of
  the N contributions. The others are majority clusters. Minority survival gap = survival(majority)
  - survival(minority).
* **Representation** p_t(v): each unit that links to at least one contribution with a known value
  carries weight 1, split equally among the *distinct* values (clusters, vote groups, languages...)
  of the contributions it links to; p_t(v) = weight of v / number of such units. Units that link to
  nothing (introductions, headings) do not count.
* **UER** over a dimension V = (1/|V|) Σ_v max(0, p_s(v) - p_t(v)); the summary is **unfair** on V
  when some v has p_t(v) <= ``unfair_ratio`` (0.8) * p_s(v); BUR of one summary is 1.0 when unfair
  else 0.0 (averaged over summaries it is the share of unfair summaries, as in Zhang et al. 2024).
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
* **Intervals**: a bootstrap over contributions. The summary (its units and links) is fixed; what
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

NOISE = -1

#: Headline metrics that get a bootstrap interval.
INTERVAL_METRICS = (
    "coverage",
    "survival",
    "minority_survival",
    "majority_survival",
    "minority_survival_gap",
    "uer_clusters",
    "bur_clusters",
    "uer_vote_groups",
    "bur_vote_groups",
)


@dataclass
class PluralismResult:
    """The results of scoring one summary (every frame is for that one output)."""

    scores: pd.DataFrame  # metric, value, low, high
    cluster_coverage: pd.DataFrame  # cluster, size, p_s, p_t, ratio, covered, is_minority
    coverage: pd.DataFrame  # contribution_id, p
    group_coverage: pd.DataFrame  # dimension, value, n, n_contributors, p_s, p_t, mean_coverage, parity, suppressed
    jr_violations: pd.DataFrame  # cluster, size, k, threshold
    representatives: pd.DataFrame  # vote_group, contribution_id, representativeness, covered
    common_ground: pd.DataFrame  # unit_index, contribution_id, gac, min_agree_rate, agreed_by_all
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


def unit_shares(links: pd.DataFrame, labels: pd.Series) -> pd.Series:
    """p_t over the values of ``labels`` (contribution_id -> value) from ``links`` (unit_index, contribution_id).

    Each unit linking to at least one labelled contribution has weight 1, split equally among the
    distinct values it links to. Returns value -> share (sums to 1; empty when no unit qualifies).
    """
    if links.empty:
        return pd.Series(dtype=float)
    frame = pd.DataFrame(
        {"unit": links["unit_index"].to_numpy(), "value": links["contribution_id"].astype(str).map(labels)}
    )
    frame = frame.dropna(subset=["value"]).drop_duplicates()
    if frame.empty:
        return pd.Series(dtype=float)
    per_unit = frame.groupby("unit")["value"].transform("size")
    weights = (1.0 / per_unit).groupby(frame["value"]).sum()
    return weights / frame["unit"].nunique()


def uer(p_s: pd.Series, p_t: pd.Series) -> float:
    """Unfair error rate (1/|V|) Σ_v max(0, p_s(v) - p_t(v)) over the values of ``p_s``."""
    if len(p_s) == 0:
        return float("nan")
    p_t = p_t.reindex(p_s.index).fillna(0.0)
    return float(np.maximum(0.0, p_s - p_t).mean())


def is_unfair(p_s: pd.Series, p_t: pd.Series, *, unfair_ratio: float = 0.8) -> float:
    """1.0 when some value has p_t(v) <= unfair_ratio * p_s(v), else 0.0 (nan with no value)."""
    if len(p_s) == 0:
        return float("nan")
    p_t = p_t.reindex(p_s.index).fillna(0.0)
    return float(bool(np.any(p_t <= unfair_ratio * p_s)))


def minority_mask(sizes: np.ndarray, n_total: int | np.ndarray, *, minority_share: float = 0.2) -> np.ndarray:
    """Which clusters are minority clusters, row-wise for a (R, C) matrix of sizes (or one 1-D row).

    Clusters are taken from the smallest (ties: lowest column first); a cluster is a minority one when
    the cumulative size up to and including it is at most ``minority_share`` of ``n_total``. Clusters
    of size 0 are never minority (they are absent).
    """
    sizes = np.atleast_2d(np.asarray(sizes, dtype=float))
    n_total = np.broadcast_to(np.asarray(n_total, dtype=float).reshape(-1, 1), (sizes.shape[0], 1))
    order = np.argsort(sizes, axis=1, kind="stable")
    sorted_sizes = np.take_along_axis(sizes, order, axis=1)
    cumulative = np.cumsum(sorted_sizes, axis=1)
    in_sorted = (cumulative <= minority_share * n_total + 1e-9) & (sorted_sizes > 0)
    mask = np.zeros_like(in_sorted)
    np.put_along_axis(mask, order, in_sorted, axis=1)
    return mask


# --------------------------------------------------------------------------------------------------
# headline statistics from cell counts (point estimate and bootstrap share one function)


@dataclass
class _Cells:
    cluster: np.ndarray  # cluster code per cell (index into cluster ids, -1 for noise)
    covered: np.ndarray  # 0/1 per cell
    vote_group: np.ndarray  # vote group code per cell, -1 for none
    counts: np.ndarray  # contributions per cell


def _headline_from_counts(
    counts: np.ndarray,
    cells: _Cells,
    *,
    cluster_covered: np.ndarray,
    cluster_p_t: np.ndarray,
    group_p_t: np.ndarray,
    minority_share: float,
    unfair_ratio: float,
) -> dict[str, np.ndarray]:
    """Every interval metric, row-wise for a (R, n_cells) matrix of counts."""
    counts = np.atleast_2d(counts).astype(float)
    n = counts.sum(axis=1)
    n_clusters = len(cluster_covered)
    out: dict[str, np.ndarray] = {}
    out["coverage"] = counts @ cells.covered / n

    real = cells.cluster >= 0
    onehot = np.zeros((len(cells.cluster), n_clusters))
    onehot[np.flatnonzero(real), cells.cluster[real]] = 1.0
    sizes = counts @ onehot
    present = sizes > 0
    covered = present & cluster_covered[None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        out["survival"] = covered.sum(axis=1) / present.sum(axis=1)
        minority = minority_mask(sizes, n, minority_share=minority_share)
        majority = present & ~minority
        out["minority_survival"] = (covered & minority).sum(axis=1) / minority.sum(axis=1)
        out["majority_survival"] = (covered & majority).sum(axis=1) / majority.sum(axis=1)
        out["minority_survival_gap"] = out["majority_survival"] - out["minority_survival"]
        p_s = sizes / n[:, None]
        gap = np.where(present, np.maximum(0.0, p_s - cluster_p_t[None, :]), 0.0)
        out["uer_clusters"] = gap.sum(axis=1) / present.sum(axis=1)
        unfair = present & (cluster_p_t[None, :] <= unfair_ratio * p_s)
        out["bur_clusters"] = np.where(present.any(axis=1), unfair.any(axis=1).astype(float), np.nan)

        n_groups = len(group_p_t)
        if n_groups:
            grouped = cells.vote_group >= 0
            g_onehot = np.zeros((len(cells.vote_group), n_groups))
            g_onehot[np.flatnonzero(grouped), cells.vote_group[grouped]] = 1.0
            g_sizes = counts @ g_onehot
            g_present = g_sizes > 0
            g_p_s = g_sizes / g_sizes.sum(axis=1, keepdims=True)
            g_gap = np.where(g_present, np.maximum(0.0, g_p_s - group_p_t[None, :]), 0.0)
            out["uer_vote_groups"] = g_gap.sum(axis=1) / g_present.sum(axis=1)
            g_unfair = g_present & (group_p_t[None, :] <= unfair_ratio * g_p_s)
            out["bur_vote_groups"] = np.where(g_present.any(axis=1), g_unfair.any(axis=1).astype(float), np.nan)
        else:
            out["uer_vote_groups"] = np.full(counts.shape[0], np.nan)
            out["bur_vote_groups"] = np.full(counts.shape[0], np.nan)
    return out


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
    group_by: Sequence[str] = (),
    minority_share: float = 0.2,
    unfair_ratio: float = 0.8,
    min_cell: int = 5,
    gac_threshold: float | None = None,
    n_resamples: int = 1000,
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
            ``contributions`` are ignored).
        n_units: the number of units of the output, reported as ``n_units`` (default: the rows of
            ``units``, else the number of distinct linked units). It is *not* k of justified
            representation, which counts the linked units only (module docstring).
        units: ``unit_index``, ``kind`` (for the common-ground check).
        comment_group_votes: per comment and vote group, ``n_agree``, ``n_disagree``, ``n_pass``,
            ``agree_rate``, ``representativeness`` (enables the vote-group dimension and checks).
        consensus: ``contribution_id``, ``gac`` (computed from ``comment_group_votes`` when absent).
        group_by: attribute columns to slice by besides language and country.
        min_cell: cells with fewer contributors (distinct ``author_pid`` when present) are suppressed.
    """
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
    links = links[links["contribution_id"].isin(set(ids))]
    linked = set(links["contribution_id"])
    covered = ids.isin(linked).to_numpy().astype(float)
    coverage = pd.DataFrame({"contribution_id": ids, "p": covered})

    # clusters
    cluster_ids = np.array(sorted(c for c in cluster.unique() if c != NOISE), dtype=int)
    sizes = cluster.value_counts()
    p_t_clusters = unit_shares(links, cluster_labels)
    covered_clusters = set(cluster[covered > 0].unique())
    minority = minority_mask(sizes.reindex(cluster_ids).to_numpy(), n, minority_share=minority_share)[0]
    rows = []
    for c, is_min in zip(cluster_ids, minority, strict=True):
        p_s = sizes[c] / n
        p_t = float(p_t_clusters.get(c, 0.0))
        rows.append((int(c), int(sizes[c]), p_s, p_t, p_t / p_s, c in covered_clusters, bool(is_min)))
    if NOISE in sizes.index:
        p_s = sizes[NOISE] / n
        p_t = float(p_t_clusters.get(NOISE, 0.0))
        rows.append((NOISE, int(sizes[NOISE]), p_s, p_t, p_t / p_s, NOISE in covered_clusters, False))
    cluster_coverage = pd.DataFrame(
        rows, columns=["cluster", "size", "p_s", "p_t", "ratio", "covered", "is_minority"]
    ).astype({"cluster": "int64", "size": "int64", "covered": bool, "is_minority": bool})

    # justified representation
    n_all_units = (
        n_units if n_units is not None else (len(units) if units is not None else links["unit_index"].nunique())
    )
    jr_k = int(links["unit_index"].nunique())  # units that carry content (at least one link)
    jr_threshold = n / jr_k if jr_k else float("inf")
    jr = cluster_coverage[(cluster_coverage["cluster"] != NOISE) & (cluster_coverage["size"] >= jr_threshold)]
    jr = jr[~jr["covered"]]
    jr_violations = pd.DataFrame(
        {
            "cluster": jr["cluster"].to_numpy(dtype="int64"),
            "size": jr["size"].to_numpy(dtype="int64"),
            "k": np.full(len(jr), jr_k, dtype="int64"),
            "threshold": np.full(len(jr), float(jr_threshold)),
        }
    )

    # vote groups
    group_ids: np.ndarray = np.array([], dtype=int)
    vote_group = pd.Series(np.nan, index=ids.to_numpy())
    representatives = pd.DataFrame(columns=["vote_group", "contribution_id", "representativeness", "covered"])
    common_ground = pd.DataFrame(columns=["unit_index", "contribution_id", "gac", "min_agree_rate", "agreed_by_all"])
    if comment_group_votes is not None and not comment_group_votes.empty:
        cgv = comment_group_votes.assign(contribution_id=comment_group_votes["contribution_id"].astype(str))
        cgv = cgv[cgv["contribution_id"].isin(set(ids))]
        vote_group = ids.map(contribution_vote_groups(cgv))
        vote_group.index = ids.to_numpy()
        group_ids = np.array(sorted(cgv["vote_group"].unique()), dtype=int)
        representatives = _representatives(cgv, linked)
        if consensus is None:
            consensus = group_aware_consensus(cgv)
        common_ground = _common_ground(cgv, consensus, links, units, gac_threshold=gac_threshold)
    p_t_groups = unit_shares(links, vote_group.dropna())

    # dimensions
    dimensions = [c for c in ("language", "country") if c in contrib.columns and contrib[c].notna().any()]
    dimensions += [c for c in group_by if c not in dimensions]
    slices = []
    if len(group_ids):
        slices.append(
            _dimension_table("vote_group", vote_group.reset_index(drop=True), contrib, covered, links, min_cell)
        )
    for dim in dimensions:
        if dim not in contrib.columns:
            raise ValueError(f"no column {dim!r} to group by; columns: {sorted(contrib.columns)}")
        slices.append(_dimension_table(dim, contrib[dim], contrib, covered, links, min_cell))
    group_coverage = (
        pd.concat(slices, ignore_index=True)
        if slices
        else pd.DataFrame(
            columns=["dimension", "value", "n", "n_contributors", "p_s", "p_t", "mean_coverage", "parity", "suppressed"]
        )
    )

    # headline numbers with intervals
    code_of_cluster = {c: i for i, c in enumerate(cluster_ids)}
    code_of_group = {g: i for i, g in enumerate(group_ids)}
    cell_frame = pd.DataFrame(
        {
            "cluster": cluster.map(lambda c: code_of_cluster.get(c, -1)).to_numpy(),
            "covered": covered,
            "vote_group": vote_group.map(lambda g: code_of_group.get(g, -1) if pd.notna(g) else -1).to_numpy(),
        }
    )
    grouped = cell_frame.groupby(["cluster", "covered", "vote_group"]).size().reset_index(name="count")
    cells = _Cells(
        cluster=grouped["cluster"].to_numpy(int),
        covered=grouped["covered"].to_numpy(float),
        vote_group=grouped["vote_group"].to_numpy(int),
        counts=grouped["count"].to_numpy(float),
    )
    kwargs = {
        "cluster_covered": np.array([c in covered_clusters for c in cluster_ids], dtype=bool),
        "cluster_p_t": np.array([p_t_clusters.get(c, 0.0) for c in cluster_ids], dtype=float),
        "group_p_t": np.array([p_t_groups.get(g, 0.0) for g in group_ids], dtype=float),
        "minority_share": minority_share,
        "unfair_ratio": unfair_ratio,
    }
    point = _headline_from_counts(cells.counts, cells, **kwargs)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, cells.counts / n, size=n_resamples)
    boot = _headline_from_counts(draws, cells, **kwargs)
    alpha = 1.0 - confidence
    score_rows = []
    for metric in INTERVAL_METRICS:
        value = float(point[metric][0])
        sample = boot[metric][~np.isnan(boot[metric])]
        if np.isnan(value) or sample.size == 0:
            low = high = float("nan")
        else:
            low, high = (float(x) for x in np.percentile(sample, [100 * alpha / 2, 100 * (1 - alpha / 2)]))
        score_rows.append((metric, value, low, high))
    nan = float("nan")
    score_rows.append(("jr_violations", float(len(jr_violations)), nan, nan))
    score_rows.append(("jr_k", float(jr_k), nan, nan))
    score_rows.append(("jr_threshold", float(jr_threshold), nan, nan))
    score_rows.append(("n_clusters", float(len(cluster_ids)), nan, nan))
    score_rows.append(("n_minority_clusters", float(minority.sum()), nan, nan))
    score_rows.append(("noise_share", float((cluster == NOISE).mean()), nan, nan))
    score_rows.append(("n_units", float(n_all_units), nan, nan))
    score_rows.append(("n_linked_units", float(links["unit_index"].nunique()), nan, nan))
    if not representatives.empty:
        score_rows.append(("representative_survival", float(representatives["covered"].mean()), nan, nan))
    if not common_ground.empty:
        per_unit = common_ground.groupby("unit_index")["agreed_by_all"].all()
        score_rows.append(("common_ground_precision", float(common_ground["agreed_by_all"].mean()), nan, nan))
        score_rows.append(("common_ground_units_grounded", float(per_unit.mean()), nan, nan))
    for dim, table in group_coverage.groupby("dimension", sort=True):
        p_s = table.set_index("value")["p_s"]
        p_t = table.set_index("value")["p_t_raw"]
        ok = table[~table["suppressed"]]
        if dim != "vote_group":
            score_rows.append((f"uer:{dim}", uer(p_s, p_t), nan, nan))
            score_rows.append((f"bur:{dim}", is_unfair(p_s, p_t, unfair_ratio=unfair_ratio), nan, nan))
        equal = float(ok["parity"].abs().mean()) if len(ok) else nan
        score_rows.append((f"equal_coverage:{dim}", equal, nan, nan))
    scores = pd.DataFrame(score_rows, columns=["metric", "value", "low", "high"])
    group_coverage = group_coverage.drop(columns=["p_t_raw"], errors="ignore")
    return PluralismResult(
        scores=scores,
        cluster_coverage=cluster_coverage,
        coverage=coverage,
        group_coverage=group_coverage,
        jr_violations=jr_violations,
        representatives=representatives,
        common_ground=common_ground,
        info={
            "n": n,
            "n_units": n_all_units,
            "jr_k": jr_k,
            "jr_threshold": jr_threshold,
            "minority_share": minority_share,
            "n_resamples": n_resamples,
            "seed": seed,
        },
    )


def _dimension_table(
    dimension: str,
    values: pd.Series,
    contrib: pd.DataFrame,
    covered: np.ndarray,
    links: pd.DataFrame,
    min_cell: int,
) -> pd.DataFrame:
    values = values.reset_index(drop=True)
    labels = pd.Series(values.to_numpy(), index=contrib["contribution_id"].to_numpy()).dropna()
    known = values.notna().to_numpy()
    p_t = unit_shares(links, labels)
    overall = covered[known].mean() if known.any() else float("nan")
    authors = contrib["author_pid"] if "author_pid" in contrib.columns else None
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
        share_t = float(p_t.get(value, 0.0))
        rows.append(
            {
                "dimension": dimension,
                "value": str(value),
                "n": n_cell,
                "n_contributors": contributors,
                "p_s": n_cell / n_known,
                "p_t": None if suppressed else share_t,
                "mean_coverage": None if suppressed else mean_cov,
                "parity": None if suppressed else mean_cov - overall,
                "suppressed": suppressed,
                "p_t_raw": share_t,
            }
        )
    frame = pd.DataFrame(rows)
    for column in ("p_t", "mean_coverage", "parity"):
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
