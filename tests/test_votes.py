"""Polis-style vote groups, representativeness, group-aware consensus, cluster x group profiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from dembias.opinion_map.vote_groups import ari_vs_published, compute_vote_groups
from dembias.opinion_map.votes import cluster_vote_profile, comment_group_votes, group_aware_consensus


def synthetic_votes(seed: int = 0, n_participants: int = 150, n_comments: int = 30):
    """Three planted camps, each agreeing with its own third of the comments; 50% of votes missing."""
    rng = np.random.default_rng(seed)
    rows, truth = [], {}
    for p in range(n_participants):
        camp = p % 3
        truth[f"p{p}"] = camp
        for c in range(n_comments):
            if rng.random() < 0.5:
                continue
            own = c % 3 == camp
            r = rng.random()
            vote = (1 if r < 0.8 else -1 if r < 0.95 else 0) if own else (-1 if r < 0.7 else 1 if r < 0.85 else 0)
            rows.append((f"p{p}", f"c{c}", vote))
    return pd.DataFrame(rows, columns=["participant_pid", "contribution_id", "vote"]), pd.Series(truth)


@pytest.mark.parametrize(("engine", "floor"), [("dembias", 0.9), ("reddwarf", 0.85)])
def test_planted_vote_groups_are_recovered(engine, floor):
    votes, truth = synthetic_votes()
    found = compute_vote_groups(votes, seed=0, engine=engine)
    assert found is not None and found.k == 3 and found.engine == engine
    assert adjusted_rand_score(truth.loc[found.groups.index], found.groups) >= floor
    assert ari_vs_published(found.groups, truth) >= floor
    assert found.groups.value_counts().is_monotonic_decreasing  # groups numbered largest first


def test_participants_with_too_few_votes_are_left_out():
    votes, _ = synthetic_votes()
    sparse = pd.DataFrame([("lurker", "c0", 1), ("lurker", "c1", -1)], columns=votes.columns)
    found = compute_vote_groups(pd.concat([votes, sparse]), min_votes=7)
    assert "lurker" not in found.groups.index
    assert compute_vote_groups(votes.head(20)) is None  # too few participants


# three comments, two groups, counts chosen by hand
GROUPS = pd.Series({"a1": 0, "a2": 0, "b1": 1}, name="vote_group")
VOTES = pd.DataFrame(
    [
        ("a1", "x", 1), ("a2", "x", 1), ("b1", "x", 1),  # everyone agrees
        ("a1", "y", 1), ("a2", "y", 0), ("b1", "y", -1),  # split
        ("a1", "z", -1), ("b1", "z", 1),  # a2 never saw z
    ],
    columns=["participant_pid", "contribution_id", "vote"],
)  # fmt: skip


def test_group_aware_consensus_is_exact_on_a_hand_made_example():
    stats = comment_group_votes(VOTES, GROUPS)
    gac = group_aware_consensus(stats).set_index("contribution_id")["gac"]
    # x: group 0 A=2 S=2 -> 3/4, group 1 A=1 S=1 -> 2/3
    assert gac["x"] == pytest.approx(3 / 4 * 2 / 3)
    # y: group 0 A=1 S=2 -> 2/4, group 1 A=0 S=1 -> 1/3
    assert gac["y"] == pytest.approx(2 / 4 * 1 / 3)
    # z: group 0 A=0 S=1 -> 1/3, group 1 A=1 S=1 -> 2/3
    assert gac["z"] == pytest.approx(1 / 3 * 2 / 3)


def test_representativeness_follows_polis():
    stats = comment_group_votes(VOTES, GROUPS).set_index(["contribution_id", "vote_group"])
    row = stats.loc[("y", 1)]
    assert (row["n_agree"], row["n_disagree"], row["n_pass"], row["n_seen"]) == (0, 1, 0, 1)
    # rd = ((D_g+1)/(S_g+2)) / ((D_notg+1)/(S_notg+2)) = (2/3) / (1/4); ra = (1/3) / (2/4)
    assert row["representativeness"] == pytest.approx((2 / 3) / (1 / 4))
    assert row["direction"] == "disagree"
    assert stats.loc[("x", 0), "direction"] == "agree"
    assert stats.loc[("x", 0), "agree_rate"] == pytest.approx(3 / 4)


def test_cluster_vote_profile_counts_votes_of_each_group_on_each_cluster():
    clusters = pd.Series({"x": 0, "y": 0, "z": 1})
    profile = cluster_vote_profile(VOTES, GROUPS, clusters).set_index(["cluster", "vote_group"])
    assert profile.loc[(0, 0), "n_votes"] == 4
    assert profile.loc[(0, 0), "agree_rate"] == pytest.approx(3 / 4)
    assert profile.loc[(0, 0), "pass_rate"] == pytest.approx(1 / 4)
    assert profile.loc[(0, 1), "disagree_rate"] == pytest.approx(1 / 2)
    assert profile.loc[(1, 0), "n_votes"] == 1 and profile.loc[(1, 0), "disagree_rate"] == 1.0


def test_sparse_pca_path_gives_the_same_groups_as_the_dense_one(monkeypatch):
    import dembias.opinion_map.vote_matrix as vote_matrix_module

    votes, _truth = synthetic_votes(seed=3)
    dense = compute_vote_groups(votes, seed=0, engine="dembias")
    monkeypatch.setattr(vote_matrix_module, "DENSE_SVD_MAX_CELLS", 0)  # force scipy's svds on the sparse matrix
    sparse_groups = compute_vote_groups(votes, seed=0, engine="dembias")
    assert dense.k == sparse_groups.k
    assert adjusted_rand_score(dense.groups, sparse_groups.groups) == 1.0
    np.testing.assert_allclose(dense.projection.to_numpy(), sparse_groups.projection.to_numpy(), atol=1e-8)


def test_centred_matrix_holds_only_the_votes():
    from dembias.opinion_map.vote_matrix import centred_vote_matrix

    votes = pd.DataFrame(
        {
            "participant_pid": ["a", "a", "b", "b", "c"],
            "contribution_id": ["1", "2", "1", "1", "2"],
            "vote": [1, -1, 1, -1, 1],  # b votes twice on 1: the last vote (-1) counts
        }
    )
    matrix, index, n_voted = centred_vote_matrix(votes, min_votes=1)
    assert sorted(index) == ["a", "b", "c"]  # rows in canonical (vote-content) order
    rows = {pid: matrix.toarray()[i].tolist() for i, pid in enumerate(index)}
    assert dict(zip(index, n_voted.tolist(), strict=True)) == {"a": 2, "b": 1, "c": 1}
    # comment 1: votes +1 (a), -1 (b) -> mean 0; comment 2: -1 (a), +1 (c) -> mean 0
    assert matrix.nnz == 4
    assert rows == {"a": [1, -1], "b": [-1, 0], "c": [0, 1]}


def _pseudonymised_again(votes: pd.DataFrame, salt: str) -> pd.DataFrame:
    """The same votes under other participant ids (another workspace's key) and in another row order."""
    import hashlib

    renamed = votes.assign(
        participant_pid=[
            "p_" + hashlib.sha256(f"{salt}{p}".encode()).hexdigest()[:20] for p in votes["participant_pid"]
        ]
    )
    return renamed.sample(frac=1.0, random_state=len(salt)).reset_index(drop=True)


UBERX_VOTES = Path(__file__).parent.parent / "data" / "sources" / "polis" / "vtaiwan.uberx" / "votes.csv"


@pytest.mark.parametrize("engine", ["dembias", "reddwarf", "auto"])
def test_groups_do_not_depend_on_pseudonyms_or_row_order(engine):
    """Each workspace has its own pseudonym key: the groups must be the same under any key.

    On planted data any order gives the same groups; on a real conversation (vTaiwan uberx, 1,900
    voters) the groups used to change with the key, so this test reads the real export.
    """
    raw = pd.read_csv(UBERX_VOTES, dtype=str).sort_values("timestamp", kind="stable")
    votes = pd.DataFrame(
        {
            "participant_pid": raw["voter-id"],
            "contribution_id": raw["comment-id"],
            "vote": raw["vote"].astype(int),
        }
    ).drop_duplicates(["participant_pid", "contribution_id"], keep="last")
    runs = [compute_vote_groups(_pseudonymised_again(votes, salt), seed=0, engine=engine) for salt in ("a", "bb")]
    back = []
    for salt, found in zip(("a", "bb"), runs, strict=True):
        import hashlib

        raw_of = {"p_" + hashlib.sha256(f"{salt}{p}".encode()).hexdigest()[:20]: p for p in votes["participant_pid"]}
        back.append(found.groups.rename(index=raw_of).sort_index())
    assert runs[0].k == runs[1].k
    pd.testing.assert_series_equal(back[0], back[1])


def test_canonical_order_ignores_ids_and_vote_order():
    from dembias.opinion_map.vote_matrix import canonical_row_order

    # three participants (0: agrees c0 / disagrees c1, 1: the reverse, 2: agrees c0 only)
    rows = np.array([0, 0, 1, 1, 2])
    cols = np.array([0, 1, 0, 1, 0])
    values = np.array([1, -1, -1, 1, 1])
    content = {0: "A", 1: "B", 2: "C"}
    order = canonical_row_order(rows, cols, values, 3)
    assert sorted(order.tolist()) == [0, 1, 2]
    # ids relabelled (0->2, 1->0, 2->1) and the votes listed backwards: the same people, in the same order
    relabel = np.array([2, 0, 1])
    again = canonical_row_order(relabel[rows][::-1], cols[::-1], values[::-1], 3)
    back = {2: "A", 0: "B", 1: "C"}
    assert [content[i] for i in order.tolist()] == [back[i] for i in again.tolist()]


def test_moderated_out_comments_count_in_polis_filter_but_not_in_groups():
    votes, _ = synthetic_votes(n_comments=12)
    # "lurker" voted 7 times, 2 of them on a moderated-out comment: Polis keeps it (7 votes)
    lurker = pd.DataFrame(
        [("lurker", f"c{c}", 1) for c in range(5)] + [("lurker", "gone", 1), ("lurker", "gone2", -1)],
        columns=votes.columns,
    )
    for engine in ("dembias", "reddwarf"):
        found = compute_vote_groups(pd.concat([votes, lurker]), seed=0, moderated_out=["gone", "gone2"], engine=engine)
        assert "lurker" in found.groups.index
        dropped = compute_vote_groups(pd.concat([votes, lurker.head(5)]), seed=0, engine=engine)
        assert "lurker" not in dropped.groups.index


def test_unknown_engine_and_bad_parameters_are_refused():
    from dembias.validation import ParameterError

    votes, _ = synthetic_votes()
    with pytest.raises(ParameterError, match="engine"):
        compute_vote_groups(votes, engine="nope")
    with pytest.raises(ParameterError, match="min_votes"):
        compute_vote_groups(votes, min_votes=0)
    with pytest.raises(ParameterError, match="k_range"):
        compute_vote_groups(votes, k_range=(1, 5))


def test_reddwarf_engine_never_opens_a_connection(monkeypatch):
    """red-dwarf depends on requests-cache & co.; the engine must run with the network cut off."""
    import socket
    import sys

    def refuse(*_args, **_kwargs):
        raise AssertionError("vote groups tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    votes, _truth = synthetic_votes(seed=1)
    found = compute_vote_groups(votes, seed=0, engine="reddwarf")
    assert found is not None and found.engine == "reddwarf"
    # red-dwarf's downloader (and the HTTP cache only it uses) is never imported
    assert "reddwarf.data_loader" not in sys.modules and "requests_cache" not in sys.modules


def test_auto_keeps_the_engine_with_the_better_silhouette():
    votes = pd.read_csv(UBERX_VOTES, dtype=str).sort_values("timestamp", kind="stable")
    votes = pd.DataFrame(
        {
            "participant_pid": votes["voter-id"],
            "contribution_id": votes["comment-id"],
            "vote": votes["vote"].astype(int),
        }
    ).drop_duplicates(["participant_pid", "contribution_id"], keep="last")
    found = compute_vote_groups(votes, seed=0, engine="auto")
    assert set(found.candidates) == {"reddwarf", "dembias"}
    assert found.engine == max(found.candidates, key=lambda name: (found.candidates[name], name == "reddwarf"))
    alone = compute_vote_groups(votes, seed=0, engine=found.engine)
    pd.testing.assert_series_equal(found.groups, alone.groups)
    assert found.candidates == {"reddwarf": found.silhouette, "dembias": alone_other(votes, found.engine).silhouette}
    # on uberx red-dwarf's groups are both closer to Polis's and better separated (docs/validity.md)
    assert found.engine == "reddwarf" and found.candidates["reddwarf"] > found.candidates["dembias"]


def alone_other(votes: pd.DataFrame, kept: str):
    """The engine that ``auto`` did not keep, run on its own."""
    return compute_vote_groups(votes, seed=0, engine="dembias" if kept == "reddwarf" else "reddwarf")
