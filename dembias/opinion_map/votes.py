"""Polis-style opinion groups from the participant x comment vote matrix, and per-group statistics.

Votes follow Polis open data: 1 = agree, -1 = disagree, 0 = pass. Groups are recomputed as Polis does
it: participants with enough votes (at least ``min(7, n_comments)``, votes on moderated-out comments
included, their columns zeroed), missing votes imputed by the comment's mean vote, PCA to two
components, each participant's projection scaled by ``sqrt(n_comments / n_votes)`` (Polis's
correction that pulls sparse voters away from the centre), then k-means with k in 2..5 chosen by
silhouette. Two engines do this (see :data:`ENGINES`): red-dwarf's (k-means started from the first
unique points, as Polis does) and dembias's sparse one (seeded k-means++ into up to 100 base clusters,
then k-means on their size-weighted centres, as Polis clusters base clusters). Participants enter both
in an order that depends only on their votes (:func:`canonical_row_order`), never on their keyed
pseudonyms, so the groups are the same in every workspace.

Per group and comment: agree/disagree/pass counts, Polis representativeness
``ra = ((A_g+1)/(S_g+2)) / ((A_notg+1)/(S_notg+2))`` (and ``rd`` likewise for disagree; the larger is
kept with its direction), and group-aware consensus ``GAC(c) = Π_g (A_g+1)/(S_g+2)`` with S = seen =
agree + disagree + pass.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.linalg import svds
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, silhouette_score

from dembias.validation import ParameterError, check_at_least
from dembias.workspace.store import Workspace, open_corpus

MIN_VOTES = 7
K_RANGE = (2, 5)
BASE_CLUSTERS = 100

SQL_VOTES = """
SELECT v.participant_pid, v.contribution_id, v.vote
FROM votes v
JOIN contributions c USING (debate_id, contribution_id)
WHERE v.debate_id = ? AND (? OR NOT c.is_rejected)
QUALIFY row_number() OVER (
    PARTITION BY v.participant_pid, v.contribution_id ORDER BY v.voted_at DESC NULLS LAST
) = 1
"""

SQL_PUBLISHED = """
SELECT participant_pid, published_group FROM participants
WHERE debate_id = ? AND published_group IS NOT NULL
"""


def load_votes(ws: Workspace, debate_id: str, *, include_rejected: bool = False) -> pd.DataFrame:
    """Votes ``(participant_pid, contribution_id, vote)`` of a debate, one per voter and comment (the last)."""
    con = open_corpus(ws)
    try:
        return con.execute(SQL_VOTES, [debate_id, include_rejected]).df()
    finally:
        con.close()


def load_published_groups(ws: Workspace, debate_id: str) -> pd.Series:
    """The opinion group Polis published for each participant (index participant_pid)."""
    con = open_corpus(ws)
    try:
        frame = con.execute(SQL_PUBLISHED, [debate_id]).df()
    finally:
        con.close()
    return frame.set_index("participant_pid")["published_group"].astype(int)


@dataclass(frozen=True)
class VoteGroups:
    """Recomputed opinion groups: one group per kept participant, the chosen k and the 2-D projection."""

    groups: pd.Series  # index participant_pid, values 0..k-1
    k: int
    silhouette: float
    projection: pd.DataFrame  # index participant_pid, columns pc1, pc2
    engine: str = "dembias"
    #: with engine "auto": each candidate engine's silhouette on the common projection (the one kept is the best)
    candidates: dict[str, float] = field(default_factory=dict)


#: Above this many matrix cells the PCA runs on the sparse matrix (scipy's svds) instead of a dense SVD.
DENSE_SVD_MAX_CELLS = 20_000_000
#: Above this many participants the silhouette is computed on a seeded sample of them.
SILHOUETTE_SAMPLE = 10_000
#: The engines that compute vote groups: red-dwarf (the polis-community reimplementation of Polis's
#: math), dembias's own sparse implementation (with Polis's base clusters; the only one for matrices
#: too large for red-dwarf's dense pandas matrix), and "auto": both, keeping the better silhouette
#: (:func:`_better_silhouette`). See docs/validity.md for how they compare with Polis.
ENGINES = ("auto", "reddwarf", "dembias")
DEFAULT_ENGINE = "auto"
#: "auto" runs red-dwarf too up to this many matrix cells (participants x comments); dembias only above.
REDDWARF_MAX_CELLS = 5_000_000

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _splitmix64(x: np.ndarray) -> np.ndarray:
    """A fixed 64-bit mixing function (SplitMix64's finaliser), element-wise on uint64."""
    with np.errstate(over="ignore"):
        z = (x + np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        return z ^ (z >> np.uint64(31))


def canonical_row_order(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, n_rows: int) -> np.ndarray:
    """An order of the participants that depends only on their votes, never on their ids.

    Participant ids are keyed pseudonyms, different in every workspace, so sorting by them makes any
    order-sensitive step (a k-means initialisation) depend on the key. Each participant gets two 64-bit
    hashes, sums (wrapping, hence independent of the vote order) of a fixed hash of each (comment, vote)
    pair; participants are sorted by them. Two participants with the same hashes cast the same votes, so
    which comes first changes nothing. Returns a permutation of ``range(n_rows)``.
    """
    cell = cols.astype(np.uint64) * np.uint64(4) + (values.astype(np.int64) + 1).astype(np.uint64)
    keys = []
    for salt in (np.uint64(0x243F6A8885A308D3), np.uint64(0x13198A2E03707344)):
        acc = np.zeros(n_rows, dtype=np.uint64)
        with np.errstate(over="ignore"):
            np.add.at(acc, rows, _splitmix64(cell ^ salt))
        keys.append(acc)
    return np.lexsort((keys[1], keys[0]))


def _last_votes(votes: pd.DataFrame) -> pd.DataFrame:
    return votes.drop_duplicates(["participant_pid", "contribution_id"], keep="last")


def centred_vote_matrix(
    votes: pd.DataFrame, *, min_votes: int = MIN_VOTES, moderated_out: Collection[str] = ()
) -> tuple[sparse.csr_matrix, pd.Index, np.ndarray]:
    """The participants x comments matrix, mean-imputed and centred, as a sparse matrix.

    Imputing a missing vote with the comment's mean and then centring each column leaves exactly 0 where
    nobody voted, so the matrix holds ``vote - comment mean`` at the voted cells only: memory grows with
    the votes, not with participants x comments. Rows are the participants with at least
    ``min(min_votes, n_comments)`` votes (the last vote wins on duplicates), in
    :func:`canonical_row_order`. Polis's filter: votes on ``moderated_out`` comments count towards that
    threshold and the comments count in n_comments, but their columns are zeroed. Returns the matrix,
    the kept participants, and their numbers of votes.
    """
    last = _last_votes(votes)
    rows, participants = pd.factorize(last["participant_pid"], sort=True)
    cols, comments = pd.factorize(last["contribution_id"].astype(str), sort=True)
    v = last["vote"].to_numpy(dtype=np.float64)
    n_comments = len(comments)
    order = canonical_row_order(rows, cols, v, len(participants))
    rank = np.empty(len(participants), dtype=np.int64)
    rank[order] = np.arange(len(participants))
    rows = rank[rows]
    participants = participants[order]
    n_voted_all = np.bincount(rows, minlength=len(participants))
    keep_rows = n_voted_all >= min(min_votes, n_comments)
    kept_index = np.flatnonzero(keep_rows)
    remap = np.full(len(participants), -1)
    remap[kept_index] = np.arange(len(kept_index))
    zeroed = np.isin(np.asarray(comments), np.asarray(list(moderated_out), dtype=object))
    mask = keep_rows[rows] & ~zeroed[cols]
    r, c, v = remap[rows[mask]], cols[mask], v[mask]
    entry_order = np.lexsort((r, c))  # a fixed summation order: identical floats in every workspace
    r, c, v = r[entry_order], c[entry_order], v[entry_order]
    seen = np.bincount(c, minlength=n_comments)
    means = np.divide(np.bincount(c, weights=v, minlength=n_comments), seen, out=np.zeros(n_comments), where=seen > 0)
    matrix = sparse.csr_matrix((v - means[c], (r, c)), shape=(len(kept_index), n_comments))
    matrix.sort_indices()
    return matrix, pd.Index(participants[kept_index], name="participant_pid"), n_voted_all[kept_index].astype(float)


def _top_components(matrix: sparse.csr_matrix, *, seed: int) -> np.ndarray:
    """The two leading right singular vectors (rows), by descending singular value."""
    if matrix.shape[0] * matrix.shape[1] <= DENSE_SVD_MAX_CELLS:
        _, _, vt = np.linalg.svd(matrix.toarray(), full_matrices=False)
        return vt[:2]
    v0 = np.random.default_rng(seed).standard_normal(min(matrix.shape))
    _, values, vt = svds(matrix, k=2, v0=v0)
    return vt[np.argsort(values)[::-1]]


def choose_engine_name(engine: str) -> str:
    """``engine`` when it names an engine of :data:`ENGINES`; else a ParameterError."""
    if engine not in ENGINES:
        raise ParameterError(f"vote group engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    return engine


def choose_engine(votes: pd.DataFrame, engine: str = DEFAULT_ENGINE) -> str:
    """What runs: ``engine`` itself; for "auto", "both" (red-dwarf and dembias, the better silhouette
    kept) when red-dwarf's dense matrix has at most :data:`REDDWARF_MAX_CELLS` cells, else "dembias"."""
    engine = choose_engine_name(engine)
    if engine != "auto":
        return engine
    cells = votes["participant_pid"].nunique() * votes["contribution_id"].nunique()
    return "both" if cells <= REDDWARF_MAX_CELLS else "dembias"


def compute_vote_groups(
    votes: pd.DataFrame,
    *,
    min_votes: int = MIN_VOTES,
    k_range: tuple[int, int] = K_RANGE,
    base_clusters: int = BASE_CLUSTERS,
    seed: int = 0,
    moderated_out: Collection[str] = (),
    engine: str = DEFAULT_ENGINE,
) -> VoteGroups | None:
    """Polis-style opinion groups; None when fewer than 10 participants have enough votes.

    ``votes`` holds every vote, those on moderated-out comments included (Polis counts them in its
    participant filter); ``moderated_out`` names those comments, whose columns are zeroed. The result
    depends only on the votes and ``seed``, never on the participants' pseudonyms or the row order.
    """
    check_at_least("min_votes", min_votes, 1)
    check_at_least("base_clusters", base_clusters, 2)
    if not 2 <= k_range[0] <= k_range[1]:
        raise ParameterError(f"k_range must be (low, high) with 2 <= low <= high, got {k_range}")
    if votes.empty:
        return None
    used = choose_engine(votes, engine)
    reddwarf = dembias = None
    if used in ("reddwarf", "both"):
        reddwarf = _reddwarf_groups(votes, min_votes=min_votes, k_range=k_range, seed=seed, moderated_out=moderated_out)
    if used in ("dembias", "both"):
        dembias = _dembias_groups(
            votes,
            min_votes=min_votes,
            k_range=k_range,
            base_clusters=base_clusters,
            seed=seed,
            moderated_out=moderated_out,
        )
    if used != "both" or reddwarf is None or dembias is None:
        return reddwarf if reddwarf is not None else dembias
    return _better_silhouette(reddwarf, dembias)


def _better_silhouette(reddwarf: VoteGroups, dembias: VoteGroups) -> VoteGroups:
    """The grouping with the higher silhouette, each as its engine measured it (ties: red-dwarf).

    The silhouette is the criterion Polis itself uses to choose k; here it also chooses between the two
    engines. Each is measured in its engine's own Polis-style projection (red-dwarf fits the PCA on every
    participant, dembias on those kept), which is how each engine chose its k. Measured against Polis's
    published groups in docs/validity.md.
    """
    scores = {"reddwarf": reddwarf.silhouette, "dembias": dembias.silhouette}
    best = dembias if scores["dembias"] > scores["reddwarf"] + 1e-12 else reddwarf
    return replace(best, candidates=scores)


def _dembias_groups(
    votes: pd.DataFrame,
    *,
    min_votes: int,
    k_range: tuple[int, int],
    base_clusters: int,
    seed: int,
    moderated_out: Collection[str],
) -> VoteGroups | None:
    """dembias's sparse engine: PCA, Polis's scaling, 100 base clusters, k by silhouette on them."""
    matrix, index, n_voted = centred_vote_matrix(votes, min_votes=min_votes, moderated_out=moderated_out)
    n_comments = matrix.shape[1]
    if matrix.shape[0] < 10 or n_comments < 2:
        return None
    components = _top_components(matrix, seed=seed)
    # deterministic sign: the largest loading of each component is positive
    signs = np.sign(components[np.arange(len(components)), np.abs(components).argmax(axis=1)])
    components = components * signs[:, None]
    projection = np.asarray(matrix @ components.T)
    projection = projection * np.sqrt(n_comments / n_voted)[:, None]
    n_base = min(base_clusters, len(np.unique(projection, axis=0)))
    base = KMeans(n_clusters=n_base, n_init=1, random_state=seed).fit(projection)
    centres, weights = base.cluster_centers_, np.bincount(base.labels_, minlength=n_base)
    best: tuple[float, int, np.ndarray] | None = None
    for k in range(k_range[0], k_range[1] + 1):
        if k >= n_base:
            break
        grouping = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(centres, sample_weight=weights)
        labels = grouping.labels_[base.labels_]
        if len(set(labels)) < 2:
            continue
        sample = SILHOUETTE_SAMPLE if len(labels) > SILHOUETTE_SAMPLE else None
        score = float(silhouette_score(projection, labels, sample_size=sample, random_state=seed))
        if best is None or score > best[0] + 1e-12:
            best = (score, k, labels)
    if best is None:
        return None
    score, k, labels = best
    labels = _relabel_by_size(labels)
    return VoteGroups(
        groups=pd.Series(labels, index=index, name="vote_group"),
        k=k,
        silhouette=score,
        projection=pd.DataFrame(projection[:, :2], index=index, columns=["pc1", "pc2"]),
        engine="dembias",
    )


def _reddwarf_groups(
    votes: pd.DataFrame,
    *,
    min_votes: int,
    k_range: tuple[int, int],
    seed: int,
    moderated_out: Collection[str],
) -> VoteGroups | None:
    """red-dwarf's Polis pipeline (its ``run_pipeline`` steps, without the statement statistics).

    Raw matrix, moderated-out comments zeroed, mean imputation, PCA to 2 components with Polis's
    sparsity scaling, participants with at least ``min(min_votes, n_comments)`` votes clustered by
    k-means with Polis's deterministic initialisation (the first unique points), k in ``k_range`` by
    silhouette. Participants enter as their rank in :func:`canonical_row_order`, so red-dwarf's own id
    sort never sees a pseudonym. red-dwarf runs here on in-memory arrays only: nothing of it that
    downloads (its data loader) is imported.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="pydantic")
        from reddwarf.utils.clusterer.kmeans import find_best_kmeans
        from reddwarf.utils.matrix import generate_raw_matrix, get_clusterable_participant_ids, simple_filter_matrix
        from reddwarf.utils.reducer.base import run_reducer

    last = _last_votes(votes)
    rows, participants = pd.factorize(last["participant_pid"], sort=True)
    cols, comments = pd.factorize(last["contribution_id"].astype(str), sort=True)
    values = last["vote"].to_numpy(dtype=np.int64)
    order = canonical_row_order(rows, cols, values, len(participants))
    rank = np.empty(len(participants), dtype=np.int64)
    rank[order] = np.arange(len(participants))
    records = pd.DataFrame({"participant_id": rank[rows], "statement_id": cols, "vote": values})
    raw = generate_raw_matrix(votes=records.to_dict("list"))  # type: ignore[arg-type]
    n_comments = raw.shape[1]
    out = {str(c) for c in moderated_out}
    zeroed = [i for i, c in enumerate(comments) if c in out]
    filtered = simple_filter_matrix(vote_matrix=raw, mod_out_statement_ids=zeroed)
    clusterable = get_clusterable_participant_ids(raw, vote_threshold=min(min_votes, n_comments))
    if len(clusterable) < 10 or n_comments < 2:
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=RuntimeWarning)  # sklearn: one init when centres are given
        warnings.filterwarnings("ignore", category=UserWarning)
        projected, _statements, _model = run_reducer(vote_matrix=filtered.to_numpy(), reducer="pca", random_state=seed)
        frame = pd.DataFrame(projected, index=filtered.index, columns=["pc1", "pc2"]).loc[clusterable]
        points = frame.to_numpy()
        n_unique = len(np.unique(points, axis=0))
        high = min(k_range[1], n_unique - 1)
        if high < k_range[0]:
            return None
        k, score, model = find_best_kmeans(
            X_to_cluster=points, k_bounds=[k_range[0], high], init="polis", random_state=seed
        )
    if model is None:
        return None
    labels = _relabel_by_size(np.asarray(model.labels_))
    index = pd.Index(participants[order[np.asarray(clusterable, dtype=np.int64)]], name="participant_pid")
    return VoteGroups(
        groups=pd.Series(labels, index=index, name="vote_group"),
        k=int(k),
        silhouette=float(score),
        projection=pd.DataFrame(points, index=index, columns=["pc1", "pc2"]),
        engine="reddwarf",
    )


def _relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Renumber labels 0..k-1 from the largest group to the smallest (ties by old label)."""
    values, counts = np.unique(labels, return_counts=True)
    order = values[np.lexsort((values, -counts))]
    mapping = {old: new for new, old in enumerate(order)}
    return np.array([mapping[v] for v in labels], dtype=np.int64)


def ari_vs_published(groups: pd.Series, published: pd.Series) -> float:
    """Adjusted Rand index between recomputed and published groups over participants in both."""
    common = groups.index.intersection(published.index)
    if len(common) < 2:
        return float("nan")
    return float(adjusted_rand_score(published.loc[common].to_numpy(), groups.loc[common].to_numpy()))


def comment_group_votes(votes: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Per comment and group: counts, agree rate, Polis representativeness and its direction.

    Columns: contribution_id, vote_group, n_agree, n_disagree, n_pass, n_seen, agree_rate
    ((A+1)/(S+2)), disagree_rate ((D+1)/(S+2)), representativeness, direction ('agree' or 'disagree').
    Only participants that have a group count.
    """
    grouped = votes.merge(groups.rename("vote_group"), left_on="participant_pid", right_index=True, how="inner")
    comments = sorted(votes["contribution_id"].unique())
    group_ids = sorted(groups.unique())
    counts = (
        grouped.assign(
            n_agree=(grouped["vote"] == 1).astype(int),
            n_disagree=(grouped["vote"] == -1).astype(int),
            n_pass=(grouped["vote"] == 0).astype(int),
        )
        .groupby(["contribution_id", "vote_group"])[["n_agree", "n_disagree", "n_pass"]]
        .sum()
    )
    full = pd.MultiIndex.from_product([comments, group_ids], names=["contribution_id", "vote_group"])
    counts = counts.reindex(full, fill_value=0).reset_index()
    counts["n_seen"] = counts["n_agree"] + counts["n_disagree"] + counts["n_pass"]
    totals = counts.groupby("contribution_id")[["n_agree", "n_disagree", "n_seen"]].transform("sum")
    a_in, d_in, s_in = counts["n_agree"], counts["n_disagree"], counts["n_seen"]
    a_out = totals["n_agree"] - a_in
    d_out = totals["n_disagree"] - d_in
    s_out = totals["n_seen"] - s_in
    counts["agree_rate"] = (a_in + 1) / (s_in + 2)
    counts["disagree_rate"] = (d_in + 1) / (s_in + 2)
    ra = counts["agree_rate"] / ((a_out + 1) / (s_out + 2))
    rd = counts["disagree_rate"] / ((d_out + 1) / (s_out + 2))
    counts["representativeness"] = np.maximum(ra, rd)
    counts["direction"] = np.where(ra >= rd, "agree", "disagree")
    return counts.astype({"vote_group": "int32", "n_agree": "int32", "n_disagree": "int32", "n_pass": "int32"})


def group_aware_consensus(group_votes: pd.DataFrame) -> pd.DataFrame:
    """GAC(c) = Π_g (A_g+1)/(S_g+2) from :func:`comment_group_votes` output: ``(contribution_id, gac)``."""
    frame = group_votes.assign(_rate=(group_votes["n_agree"] + 1) / (group_votes["n_seen"] + 2))
    gac = frame.groupby("contribution_id")["_rate"].prod()
    return gac.rename("gac").reset_index()


def cluster_vote_profile(votes: pd.DataFrame, groups: pd.Series, clusters: pd.Series) -> pd.DataFrame:
    """How each vote group voted on the comments of each opinion cluster.

    ``clusters`` maps contribution_id -> cluster. Columns: cluster, vote_group, n_votes, agree_rate,
    disagree_rate, pass_rate (plain shares of the group's votes on the cluster's comments).
    """
    frame = votes.merge(groups.rename("vote_group"), left_on="participant_pid", right_index=True, how="inner")
    frame = frame.merge(clusters.rename("cluster"), left_on="contribution_id", right_index=True, how="inner")
    if frame.empty:
        return pd.DataFrame(
            {
                "cluster": pd.Series(dtype="int32"),
                "vote_group": pd.Series(dtype="int32"),
                "n_votes": pd.Series(dtype="int64"),
                "agree_rate": pd.Series(dtype="float64"),
                "disagree_rate": pd.Series(dtype="float64"),
                "pass_rate": pd.Series(dtype="float64"),
            }
        )
    frame = frame.assign(
        _agree=(frame["vote"] == 1).astype(float),
        _disagree=(frame["vote"] == -1).astype(float),
        _pass=(frame["vote"] == 0).astype(float),
    )
    profile = (
        frame.groupby(["cluster", "vote_group"])
        .agg(
            n_votes=("vote", "size"),
            agree_rate=("_agree", "mean"),
            disagree_rate=("_disagree", "mean"),
            pass_rate=("_pass", "mean"),
        )
        .reset_index()
    )
    return profile.astype({"cluster": "int32", "vote_group": "int32", "n_votes": "int64"})
