"""The participant x comment vote matrix of a debate, as Polis builds it, for the vote groups.

Participants enter in an order that depends only on their votes (:func:`canonical_row_order`), never on
their keyed pseudonyms, so every step after it gives the same result in every workspace. Polis's
participant filter: at least ``min(MIN_VOTES, n_comments)`` votes, votes on moderated-out comments
counted (their columns are zeroed).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.linalg import svds

MIN_VOTES = 7
#: Above this many matrix cells the PCA runs on the sparse matrix (scipy's svds) instead of a dense SVD.
DENSE_SVD_MAX_CELLS = 20_000_000

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


def last_votes(votes: pd.DataFrame) -> pd.DataFrame:
    return votes.drop_duplicates(["participant_pid", "contribution_id"], keep="last")


@dataclass(frozen=True)
class RankedVotes:
    """The last vote of each participant on each comment, as integer codes.

    ``rows`` are participants' ranks in :func:`canonical_row_order` (row ``r`` is ``participants[r]``),
    ``cols`` index ``comments`` (sorted), ``values`` the votes (1, -1, 0).
    """

    rows: np.ndarray
    cols: np.ndarray
    values: np.ndarray
    participants: pd.Index
    comments: pd.Index


def ranked_votes(votes: pd.DataFrame) -> RankedVotes:
    """``votes`` (last vote wins) with participants numbered in :func:`canonical_row_order`."""
    last = last_votes(votes)
    rows, participants = pd.factorize(last["participant_pid"], sort=True)
    cols, comments = pd.factorize(last["contribution_id"].astype(str), sort=True)
    values = last["vote"].to_numpy(dtype=np.int64)
    order = canonical_row_order(rows, cols, values, len(participants))
    rank = np.empty(len(participants), dtype=np.int64)
    rank[order] = np.arange(len(participants))
    return RankedVotes(rank[rows], cols, values, participants[order], comments)


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
    ranked = ranked_votes(votes)
    rows, cols, v = ranked.rows, ranked.cols, ranked.values.astype(np.float64)
    n_participants, n_comments = len(ranked.participants), len(ranked.comments)
    n_voted_all = np.bincount(rows, minlength=n_participants)
    keep_rows = n_voted_all >= min(min_votes, n_comments)
    kept_index = np.flatnonzero(keep_rows)
    remap = np.full(n_participants, -1)
    remap[kept_index] = np.arange(len(kept_index))
    zeroed = np.isin(np.asarray(ranked.comments), np.asarray(list(moderated_out), dtype=object))
    mask = keep_rows[rows] & ~zeroed[cols]
    r, c, v = remap[rows[mask]], cols[mask], v[mask]
    entry_order = np.lexsort((r, c))  # a fixed summation order: identical floats in every workspace
    r, c, v = r[entry_order], c[entry_order], v[entry_order]
    seen = np.bincount(c, minlength=n_comments)
    means = np.divide(np.bincount(c, weights=v, minlength=n_comments), seen, out=np.zeros(n_comments), where=seen > 0)
    matrix = sparse.csr_matrix((v - means[c], (r, c)), shape=(len(kept_index), n_comments))
    matrix.sort_indices()
    kept = pd.Index(ranked.participants[kept_index], name="participant_pid")
    return matrix, kept, n_voted_all[kept_index].astype(float)


def top_components(matrix: sparse.csr_matrix, *, seed: int) -> np.ndarray:
    """The two leading right singular vectors (rows), by descending singular value."""
    if matrix.shape[0] * matrix.shape[1] <= DENSE_SVD_MAX_CELLS:
        _, _, vt = np.linalg.svd(matrix.toarray(), full_matrices=False)
        return vt[:2]
    v0 = np.random.default_rng(seed).standard_normal(min(matrix.shape))
    _, values, vt = svds(matrix, k=2, v0=v0)
    return vt[np.argsort(values)[::-1]]
