"""Pluralism metrics on hand-made debates with values computed by hand, and properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dembias.minority import minority_mask
from dembias.pluralism.metrics import score_pluralism
from dembias.pluralism.topics import unit_shares
from dembias.pluralism.unfairness import uer
from dembias.pluralism.vote_grounded import contribution_vote_groups, group_aware_consensus


def debate(sizes: dict[int, int], **columns) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Contributions named <cluster letter><i> with their cluster assignments."""
    ids, clusters = [], []
    for cluster, size in sizes.items():
        for i in range(size):
            ids.append(f"{'n' if cluster < 0 else 'abcdefgh'[cluster]}{i}")
            clusters.append(cluster)
    contributions = pd.DataFrame({"contribution_id": ids, **{k: v for k, v in columns.items()}})
    return contributions, pd.DataFrame({"contribution_id": ids, "cluster": clusters})


def cite(*unit_ids: str | tuple[str, ...]) -> pd.DataFrame:
    rows = []
    for unit, cited in enumerate(unit_ids):
        for cid in (cited,) if isinstance(cited, str) else cited:
            rows.append({"unit_index": unit, "contribution_id": cid, "method": "citation", "score": 1.0})
    return pd.DataFrame(rows)


def metric(result, name):
    return result.scores.set_index("metric").loc[name, "value"]


def test_summary_citing_only_the_majority_cluster():
    # clusters a (6), b (3), c (1); N = 10. Sorted sizes 1, 3, 6: cumulative shares 0.1 <= 0.2, 0.4 > 0.2,
    # so c is the only minority cluster. Two units cite a0 and a1.
    contributions, assignments = debate({0: 6, 1: 3, 2: 1})
    result = score_pluralism(contributions, assignments, cite("a0", "a1"), n_units=2, n_resamples=200)
    assert metric(result, "survival") == pytest.approx(1 / 3)
    assert metric(result, "minority_topic_survival") == 0.0
    assert metric(result, "majority_topic_survival") == 0.5
    assert metric(result, "minority_topic_gap") == 0.5
    # p_s = 0.6, 0.3, 0.1 and p_t = 1, 0, 0: UER = (max(0, 0.6 - 1) + 0.3 + 0.1) / 3 = 0.1333...
    assert metric(result, "uer_topics") == pytest.approx(0.4 / 3)
    assert metric(result, "unfair_topics") == 1.0
    assert metric(result, "coverage") == pytest.approx(0.2)
    table = result.cluster_coverage.set_index("cluster")
    assert table["p_t"].tolist() == [1.0, 0.0, 0.0]
    assert table["ratio"].tolist() == pytest.approx([1 / 0.6, 0.0, 0.0])
    assert table["is_minority"].tolist() == [False, False, True]
    assert table["covered"].tolist() == [True, False, False]
    # k = 2 units: N/k = 5, cluster a (6) is covered, so JR holds
    assert result.jr_violations.empty
    assert metric(result, "jr_threshold") == 5.0
    assert result.coverage.set_index("contribution_id")["p"].sum() == 2.0


def test_proportional_summary_has_zero_uer():
    contributions, assignments = debate({0: 5, 1: 3, 2: 2})
    links = cite(*contributions["contribution_id"])  # one unit per contribution
    result = score_pluralism(contributions, assignments, links, n_resamples=200)
    assert metric(result, "uer_topics") == 0.0
    assert metric(result, "unfair_topics") == 0.0
    assert metric(result, "survival") == 1.0
    assert metric(result, "minority_topic_survival") == 1.0  # c (2 of 10 = 0.2) is the minority cluster
    assert result.cluster_coverage["is_minority"].tolist() == [False, False, True]
    row = result.scores.set_index("metric").loc["uer_topics"]
    assert row["low"] == 0.0 and row["high"] >= 0.0


def test_fractional_representation_of_a_unit_linked_to_two_clusters():
    contributions, assignments = debate({0: 2, 1: 2})
    result = score_pluralism(contributions, assignments, cite(("a0", "b0"), "a1"), n_resamples=50)
    # unit 0 splits its weight 1/2, 1/2; unit 1 gives 1 to a: p_t(a) = 1.5 / 2, p_t(b) = 0.5 / 2
    assert result.cluster_coverage["p_t"].tolist() == [0.75, 0.25]


def test_justified_representation_violation():
    # N = 12, k = 3 units: every cluster of >= 4 contributions must be covered; b (4) is not.
    contributions, assignments = debate({0: 6, 1: 4, 2: 2})
    result = score_pluralism(contributions, assignments, cite("a0", "a1", "c0"), n_units=3, n_resamples=50)
    assert result.jr_violations.to_dict("records") == [{"cluster": 1, "size": 4, "k": 3, "threshold": 4.0}]
    assert metric(result, "jr_violations") == 1.0


def test_justified_representation_counts_only_units_that_carry_content():
    # N = 12 over clusters a (5), b (4), c (2), d (1). The report has 8 units: 5 unlinked headings (0, 2, 4, 6, 7)
    # and 3 linked units (1: a0, 3: a1, 5: d0). k = 3 linked units: threshold N/k = 4, so a (5) and b (4) must be
    # covered; b is not -> one violation. Counting the headings (k = 8, threshold 1.5) would also flag c (2).
    contributions, assignments = debate({0: 5, 1: 4, 2: 2, 3: 1})
    links = pd.DataFrame({"unit_index": [1, 3, 5], "contribution_id": ["a0", "a1", "d0"]})
    units = pd.DataFrame({"unit_index": range(8), "kind": ["heading", "theme"] * 4})
    result = score_pluralism(contributions, assignments, links, units=units, n_resamples=50)
    assert result.jr_violations.to_dict("records") == [{"cluster": 1, "size": 4, "k": 3, "threshold": 4.0}]
    assert metric(result, "jr_k") == 3.0
    assert metric(result, "jr_threshold") == 4.0
    assert metric(result, "jr_violations") == 1.0
    assert metric(result, "n_units") == 8.0  # every unit is still reported
    assert metric(result, "n_linked_units") == 3.0


def test_justified_representation_ignores_small_uncovered_clusters_that_headings_would_flag():
    # N = 12: a (6), b (3), c (3); 2 linked units cite a0 and b0, 6 headings link to nothing. k = 2, threshold 6:
    # only a must be covered and it is, so no violation (with k = 8 units, threshold 1.5 would flag c).
    contributions, assignments = debate({0: 6, 1: 3, 2: 3})
    links = pd.DataFrame({"unit_index": [0, 7], "contribution_id": ["a0", "b0"]})
    result = score_pluralism(contributions, assignments, links, n_units=8, n_resamples=50)
    assert result.jr_violations.empty
    assert list(result.jr_violations.columns) == ["cluster", "size", "k", "threshold"]
    assert (metric(result, "jr_k"), metric(result, "jr_threshold")) == (2.0, 6.0)
    # no linked unit at all: k = 0, no threshold to meet
    empty = score_pluralism(contributions, assignments, links.iloc[:0], n_units=8, n_resamples=50)
    assert metric(empty, "jr_k") == 0.0 and np.isinf(metric(empty, "jr_threshold")) and empty.jr_violations.empty


def test_noise_is_reported_but_not_a_cluster():
    contributions, assignments = debate({0: 4, 1: 4, -1: 2})
    result = score_pluralism(contributions, assignments, cite("a0", "n0"), n_resamples=50)
    table = result.cluster_coverage.set_index("cluster")
    assert list(table.index) == [0, 1, -1]
    assert table.loc[-1, "p_s"] == 0.2 and table.loc[-1, "p_t"] == 0.5
    assert metric(result, "survival") == 0.5
    assert metric(result, "noise_share") == 0.2
    assert metric(result, "n_clusters") == 2


def test_group_aware_consensus_of_three_comments():
    votes = pd.DataFrame(
        [
            ("x", 0, 3, 1, 0),
            ("x", 1, 1, 2, 1),
            ("y", 0, 0, 0, 0),
            ("y", 1, 2, 0, 0),
            ("z", 0, 5, 0, 0),
            ("z", 1, 4, 0, 1),
        ],
        columns=["contribution_id", "vote_group", "n_agree", "n_disagree", "n_pass"],
    )
    gac = group_aware_consensus(votes).set_index("contribution_id")["gac"]
    assert gac["x"] == pytest.approx((4 / 6) * (2 / 6))  # (3+1)/(4+2) * (1+1)/(4+2)
    assert gac["y"] == pytest.approx((1 / 2) * (3 / 4))  # no vote in group 0 -> 1/2
    assert gac["z"] == pytest.approx((6 / 7) * (5 / 7))


def vote_table() -> pd.DataFrame:
    rows = []
    # group 0 agrees with a*, group 1 with b*; c0 is agreed by both (common ground); a0/b0 most representative
    for cid, (r0, r1) in {
        "a0": (0.9, 0.1),
        "a1": (0.7, 0.2),
        "a2": (0.6, 0.3),
        "b0": (0.1, 0.9),
        "b1": (0.2, 0.6),
        "c0": (0.8, 0.7),
    }.items():
        for group, rate in ((0, r0), (1, r1)):
            agree = int(rate * 10)
            rows.append((cid, group, agree, 10 - agree, 0, rate, rate - (r1 if group == 0 else r0)))
    return pd.DataFrame(
        rows,
        columns=[
            "contribution_id",
            "vote_group",
            "n_agree",
            "n_disagree",
            "n_pass",
            "agree_rate",
            "representativeness",
        ],
    )


def test_vote_grounded_checks():
    contributions, assignments = debate({0: 3, 1: 2, 2: 1})
    units = pd.DataFrame({"unit_index": [0, 1, 2], "kind": ["themes", "common_ground", "common_ground"]})
    links = cite("a0", ("c0", "a1"), "c0")
    result = score_pluralism(
        contributions, assignments, links, units=units, comment_group_votes=vote_table(), n_resamples=100
    )
    assert contribution_vote_groups(vote_table()).to_dict() == {"a0": 0, "a1": 0, "a2": 0, "b0": 1, "b1": 1, "c0": 0}
    reps = result.representatives.set_index("vote_group")
    assert reps["contribution_id"].tolist() == ["a0", "b0"]
    assert reps["covered"].tolist() == [True, False]
    assert metric(result, "representative_survival") == 0.5
    cg = result.common_ground.set_index(["unit_index", "contribution_id"])["agreed_by_all"]
    assert cg.to_dict() == {(1, "a1"): False, (1, "c0"): True, (2, "c0"): True}
    assert metric(result, "common_ground_precision") == pytest.approx(2 / 3)
    assert metric(result, "common_ground_units_grounded") == 0.5
    # stances from votes: unit 0 (a0: 0.9 vs 0.1) and unit 1 (a1 + c0 pooled: 0.75 vs 0.45) speak for group 0;
    # unit 2 (c0: 0.8 vs 0.7, both above 0.5, lead 0.1 < 0.2) is common ground, split between the groups.
    stances = result.unit_stances.set_index("unit_index")
    assert stances["stance"].tolist() == ["group", "group", "common_ground"]
    assert stances["vote_group"].tolist() == [0, 0, -1]
    # p_t = (2.5/3, 0.5/3); p_s (each contribution's group standing in for participants) = (4/6, 2/6)
    # UER = (max(0, 4/6 - 2.5/3) + max(0, 2/6 - 0.5/3)) / 2 = 1/12; group 1 is under-represented
    assert metric(result, "uer_opinion_groups") == pytest.approx(1 / 12)
    groups = result.opinion_groups.set_index("vote_group")
    assert groups["p_t"].tolist() == pytest.approx([2.5 / 3, 0.5 / 3])
    assert groups["under_represented"].tolist() == [False, True]
    assert metric(result, "opinion_groups_under_represented") == 1
    assert metric(result, "unfair_opinion_groups") == 1.0


def test_group_coverage_suppresses_small_cells_and_computes_equal_coverage():
    languages = ["en"] * 6 + ["de"] * 4
    contributions, assignments = debate({0: 5, 1: 5}, language=languages)
    # covered: a0, a1, a2 (en) and b1 (de): en 3/6 = 0.5, de 1/4 = 0.25, overall 0.4
    result = score_pluralism(contributions, assignments, cite("a0", "a1", "a2", "b1"), min_cell=5, n_resamples=50)
    table = result.group_coverage.set_index("value")
    assert table.loc["en", "mean_coverage"] == 0.5
    assert table.loc["en", "parity"] == pytest.approx(0.1)
    assert bool(table.loc["de", "suppressed"]) and np.isnan(table.loc["de", "mean_coverage"])
    assert metric(result, "equal_coverage:language") == pytest.approx(0.1)  # only en is shown
    open_result = score_pluralism(contributions, assignments, cite("a0", "a1", "a2", "b1"), min_cell=1, n_resamples=50)
    assert metric(open_result, "equal_coverage:language") == pytest.approx((0.1 + 0.15) / 2)
    # p_s(en) = 0.6, p_t(en) = 3/4, p_s(de) = 0.4, p_t(de) = 1/4: UER = (0 + 0.15) / 2
    assert metric(open_result, "uer:language") == pytest.approx(0.075)


def test_group_by_unknown_column_is_a_clear_error():
    contributions, assignments = debate({0: 3})
    with pytest.raises(ValueError, match="party"):
        score_pluralism(contributions, assignments, cite("a0"), group_by=["party"], n_resamples=10)


def test_building_blocks():
    links = cite(("x", "y"), "z", ())
    shares = unit_shares(links, pd.Series({"x": "A", "y": "B", "z": "A"}))
    assert shares.to_dict() == {"A": 0.75, "B": 0.25}
    assert uer(pd.Series({"A": 0.5, "B": 0.5}), shares) == pytest.approx(0.125)
    np.testing.assert_array_equal(minority_mask(np.array([5, 1, 1, 3]), 10), [[False, True, True, False]])
    np.testing.assert_array_equal(minority_mask(np.array([[0, 2, 8]]), 10), [[False, True, False]])


def test_intervals_contain_the_value_and_are_seeded():
    rng = np.random.default_rng(0)
    contributions, assignments = debate({0: 60, 1: 25, 2: 10, 3: 5})
    links = cite(*rng.choice(contributions["contribution_id"], 15, replace=False))
    a = score_pluralism(contributions, assignments, links, n_resamples=1000, seed=3)
    b = score_pluralism(contributions, assignments, links, n_resamples=1000, seed=3)
    pd.testing.assert_frame_equal(a.scores, b.scores)
    for row in a.scores.dropna().itertuples():
        assert row.low - 1e-9 <= row.value <= row.high + 1e-9 or row.metric == "minority_topic_gap"


@st.composite
def random_debates(draw):
    n = draw(st.integers(3, 30))
    clusters = draw(st.lists(st.integers(-1, 4), min_size=n, max_size=n))
    langs = draw(st.lists(st.sampled_from(["en", "de", "fr"]), min_size=n, max_size=n))
    n_units = draw(st.integers(1, 6))
    links = draw(st.lists(st.tuples(st.integers(0, n_units - 1), st.integers(0, n - 1)), min_size=0, max_size=12))
    perm = draw(st.permutations(list(range(n))))
    return n, clusters, langs, n_units, links, perm


@settings(max_examples=40, deadline=None)
@given(random_debates())
def test_metrics_in_range_and_invariant_to_order(case):
    n, clusters, langs, n_units, link_pairs, perm = case
    ids = [f"d{i}" for i in range(n)]
    contributions = pd.DataFrame({"contribution_id": ids, "language": langs})
    assignments = pd.DataFrame({"contribution_id": ids, "cluster": clusters})
    links = pd.DataFrame({"unit_index": [u for u, _ in link_pairs], "contribution_id": [ids[d] for _, d in link_pairs]})
    kwargs = {"n_units": n_units, "min_cell": 1, "n_resamples": 100, "seed": 1}
    result = score_pluralism(contributions, assignments, links, **kwargs)
    shuffled = score_pluralism(contributions.iloc[perm], assignments.iloc[perm[::-1]], links, **kwargs)
    pd.testing.assert_frame_equal(result.scores, shuffled.scores)
    pd.testing.assert_frame_equal(result.cluster_coverage, shuffled.cluster_coverage)
    values = result.scores.set_index("metric")
    for name in (
        "coverage",
        "survival",
        "minority_topic_survival",
        "majority_topic_survival",
        "uer_topics",
        "unfair_topics",
    ):
        for col in ("value", "low", "high"):
            x = values.loc[name, col]
            assert np.isnan(x) or 0.0 <= x <= 1.0, (name, col, x)
    gap = values.loc["minority_topic_gap", "value"]
    assert np.isnan(gap) or -1.0 <= gap <= 1.0
    assert values.loc["uer_topics", "value"] <= 1.0 or np.isnan(values.loc["uer_topics", "value"])
    p_t = result.cluster_coverage["p_t"].sum()
    assert p_t == pytest.approx(1.0) or (links.empty and p_t == 0.0)


# --------------------------------------------------------------------------------------------------
# the workspace glue, on a synthetic debate with a synthetic mapping run


@pytest.fixture
def scored_workspace(tmp_path):
    import json

    from dembias.ingest.outputs import OutputRecord, OutputUnit, store_outputs
    from dembias.workspace.corpus import corpus_writer, insert_frame
    from dembias.workspace.folder import Workspace
    from dembias.workspace.runs import RunRecord, write_run

    ws = Workspace(tmp_path / "ws")
    sizes = {0: 30, 1: 12, 2: 5}
    rows = []
    for cluster, size in sizes.items():
        for i in range(size):
            rows.append(
                {
                    "debate_id": "d",
                    "contribution_id": f"{cluster}{i:02d}",
                    "text": f"t{cluster}::opinion {i}",
                    "language": "en" if i % 3 else "de",
                    "author_pid": f"p{cluster}{i}",
                    "n_agree": 100 - 10 * cluster + i,
                    "metadata": json.dumps({"district": "north" if i % 2 else "south"}),
                }
            )
    contributions = pd.DataFrame(rows)
    with corpus_writer(ws) as con:
        insert_frame(
            con,
            "debates",
            pd.DataFrame(
                [
                    {
                        "debate_id": "d",
                        "title": "t",
                        "platform": "test",
                        "country": "FR",
                        "ingested_at": pd.Timestamp.now(),
                    }
                ]
            ),
        )
        insert_frame(con, "contributions", contributions)
        store_outputs(
            con,
            [
                OutputRecord(
                    output_id="cited",
                    debate_id="d",
                    task="summary",
                    model="m1",
                    text="...",
                    units=[
                        OutputUnit("Intro.", kind="overview"),
                        OutputUnit("t0::most want t0", citations=["000", "001"], kind="themes"),
                        OutputUnit("t1::everyone agrees", citations=["100"], kind="common_ground"),
                    ],
                ),
                OutputRecord(
                    output_id="uncited",
                    debate_id="d",
                    task="summary",
                    model="m2",
                    text="...",
                    units=[OutputUnit("t0::summary one"), OutputUnit("t2::summary two")],
                ),
            ],
        )
    assignments = pd.DataFrame(
        {
            "contribution_id": contributions["contribution_id"],
            "cluster": [int(c[0]) for c in contributions["contribution_id"]],
        }
    )
    group_votes = pd.DataFrame(
        [
            (cid, g, a, 10 - a, 0)
            for cid in contributions["contribution_id"]
            for g in (0, 1)
            for a in [8 if (g == 0) == cid.startswith("0") else 3]
        ],
        columns=["contribution_id", "vote_group", "n_agree", "n_disagree", "n_pass"],
    )
    group_votes["n_seen"] = group_votes["n_agree"] + group_votes["n_disagree"] + group_votes["n_pass"]
    group_votes["agree_rate"] = (group_votes["n_agree"] + 1) / (group_votes["n_seen"] + 2)
    group_votes["representativeness"] = group_votes["agree_rate"]
    write_run(
        ws,
        stage="mapping",
        debate_id="d",
        tables={
            "assignments": assignments,
            "comment_group_votes": group_votes,
            "consensus": group_aware_consensus(group_votes),
        },
        record=RunRecord(params={"embedder": "fake", "revision": "dim=16;noise=0.3;seed=0"}),
    )
    return ws


def test_score_debate_writes_a_pluralism_run(scored_workspace):
    from dembias import pluralism
    from dembias.workspace.runs import list_runs, read_run_table

    ws = scored_workspace
    run = pluralism.run(ws, debate_id="d", params=pluralism.PluralismParams(group_by=("district",), n_resamples=200))
    scored = run.details
    params = run.manifest["params"]
    assert params["output_ids"] is None and params["group_by"] == ["district"] and params["n_resamples"] == 200
    assert [r.run_id for r in list_runs(ws, stage="pluralism", debate_id="d")] == [run.run_id]
    outputs = read_run_table(ws, run.run_id, "outputs").set_index("output_id")
    assert outputs.loc["cited", "link_method"] == "citation"
    assert outputs.loc["uncited", "link_method"] == "similarity"
    scores = read_run_table(ws, run.run_id, "scores").set_index(["output_id", "metric"])
    # the cited summary covers clusters 0 and 1 of 0 (30), 1 (12), 2 (5): N = 47, minority = {2} (5/47 <= 0.2)
    assert scores.loc[("cited", "survival"), "value"] == pytest.approx(2 / 3)
    assert scores.loc[("cited", "minority_topic_survival"), "value"] == 0.0
    # JR: 3 units of which 2 cite (the intro does not): k = 2, threshold 47 / 2; cluster 0 (30) is covered
    assert scores.loc[("cited", "n_units"), "value"] == 3.0
    assert scores.loc[("cited", "jr_k"), "value"] == 2.0
    assert scores.loc[("cited", "jr_threshold"), "value"] == pytest.approx(23.5)
    jr = read_run_table(ws, run.run_id, "jr_violations")
    assert list(jr.columns) == ["output_id", "cluster", "size", "k", "threshold"]
    assert "cited" not in set(jr["output_id"])
    low, high = scores.loc[("cited", "survival"), ["low", "high"]]
    assert low <= 2 / 3 <= high
    links = read_run_table(ws, run.run_id, "links")
    uncited = links[links["output_id"] == "uncited"]
    assert set(uncited["contribution_id"].str[0]) <= {"0", "2"} and not uncited.empty
    cc = read_run_table(ws, run.run_id, "cluster_coverage")
    assert list(cc.columns) == ["output_id", "cluster", "size", "p_s", "p_t", "ratio", "covered", "is_minority"]
    gc = read_run_table(ws, run.run_id, "group_coverage")
    assert set(gc["dimension"]) == {"vote_group", "language", "country", "district"}
    cg = read_run_table(ws, run.run_id, "common_ground")
    assert cg[["unit_index", "contribution_id"]].values.tolist() == [[2, "100"]]
    assert not bool(cg["agreed_by_all"].iloc[0])  # group 0 agrees 3/10 with a cluster-1 comment
    obj = next(s for s in scored if s.output_id == "cited").to_json(group_by=["district"])
    assert {g["value"] for g in obj["declared_groups"]["district"]} == {"north", "south"}
    for group in obj["declared_groups"]["district"]:
        assert group["n"] > 0 and group["coverage"]["low"] <= group["coverage"]["value"] <= group["coverage"]["high"]
    assert obj["survival"]["value"] == pytest.approx(2 / 3)
    assert "placebo" in obj["survival"] and "minus_placebo" in obj["survival"]
    assert obj["citations"] == {"n": 3, "supported": 3, "precision": 1.0, "unknown_ids": 0}
    assert obj["quality_flags"] == []
    jr = obj["justified_representation"]
    assert (jr["k"], jr["threshold"]) == (2.0, pytest.approx(23.5))
    assert obj["opinion_groups"]["available"] and len(obj["opinion_groups"]["groups"]) == 2


def test_cli_score_pluralism_json_and_per_contribution(scored_workspace, tmp_path):
    import json

    from typer.testing import CliRunner

    from dembias.cli import app

    out = tmp_path / "cov.csv"
    result = CliRunner().invoke(
        app,
        [
            "score",
            "pluralism",
            "-w",
            str(scored_workspace.root),
            "--debate",
            "d",
            "--output",
            "cited",
            "--group-by",
            "language",
            "--per-contribution",
            str(out),
            "--json",
            "--resamples",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout[result.stdout.index("[") :])
    assert len(payload) == 1
    obj = payload[0]
    for key in (
        "debate_id",
        "output_id",
        "model",
        "quality_flags",
        "survival",
        "minority_topics",
        "opinion_groups",
        "declared_groups",
        "justified_representation",
    ):
        assert key in obj
    assert {"value", "low", "high", "placebo"} <= set(obj["survival"])
    assert set(obj["minority_topics"]) >= {"survival", "majority_survival", "gap", "uer", "unfair", "definition"}
    language = {g["value"]: g for g in obj["declared_groups"]["language"]}
    assert language["en"]["coverage"]["value"] == pytest.approx(1 / 31)  # 001 of 31 "en" (i % 3 != 0)
    assert language["en"]["n"] == 31
    frame = pd.read_csv(out, dtype=str)
    assert len(frame) == 47 and frame["p"].astype(float).sum() == 3.0


def test_baselines_are_added_and_scored(scored_workspace):
    from dembias import pluralism
    from dembias.pluralism.stored_baselines import add_baselines
    from tests.fakes import FakeEmbedder

    ws = scored_workspace
    ids = add_baselines(ws, "d", budget=6, embedder=FakeEmbedder(dim=16, noise=0.3))
    assert len(ids) == 5
    assert add_baselines(ws, "d", budget=6, embedder=FakeEmbedder(dim=16, noise=0.3)) == ids  # replaced, same ids
    scored = pluralism.run(ws, debate_id="d", params=pluralism.PluralismParams(output_ids=ids, n_resamples=100)).details
    by_model = {s.model: s.result.scores.set_index("metric")["value"] for s in scored}
    # 6 units over 30/12/5: 4, 1, 1 -> every cluster covered; top-voted picks cluster 0 only (most agrees)
    assert by_model["baseline:cluster-representative"]["survival"] == 1.0
    assert by_model["baseline:top-voted"]["survival"] == pytest.approx(1 / 3)
    assert by_model["baseline:cluster-representative"]["uer_topics"] < by_model["baseline:top-voted"]["uer_topics"]


def test_a_debate_without_summaries_is_nothing_to_do(scored_workspace):
    from dembias import pluralism
    from dembias.errors import NothingToDo
    from dembias.workspace.corpus import corpus_writer
    from dembias.workspace.runs import list_runs

    ws = scored_workspace
    with corpus_writer(ws) as con:
        for table in ("citations", "output_units", "outputs"):
            con.execute(f"DELETE FROM {table}")
    with pytest.raises(NothingToDo, match="no summary to score"):
        pluralism.run(ws, debate_id="d", params=pluralism.PluralismParams())
    assert list_runs(ws, stage="pluralism", debate_id="d") == []


@pytest.mark.parametrize(
    "bad", [{"minority_share": 1.5}, {"min_cell": 0}, {"n_resamples": 0}, {"n_placebo": -1}, {"seed": -1}]
)
def test_pluralism_params_are_checked(bad):
    from dembias.pluralism import PluralismParams

    with pytest.raises(ValueError, match=next(iter(bad))):
        PluralismParams(**bad)


def test_pluralism_params_hold_tuples():
    from dembias.pluralism import PluralismParams

    params = PluralismParams(output_ids=["b", "a"], group_by=["district"])
    assert params.output_ids == ("b", "a") and params.group_by == ("district",)
    assert hash(params) == hash(PluralismParams(output_ids=("b", "a"), group_by=("district",)))


def test_the_rescoring_job_runs_the_stage_and_records_the_job(scored_workspace):
    from dembias.jobs.context import JobContext
    from dembias.jobs.files import Job
    from dembias.jobs.runners import run_pluralism_job
    from dembias.workspace.corpus import corpus_writer
    from dembias.workspace.runs import latest_run

    ws = scored_workspace
    result = run_pluralism_job(
        JobContext(ws, Job(job_id="job-20261202T120000-0000aaaa", stage="pluralism", debate_id="d"))
    )
    run = latest_run(ws, stage="pluralism", debate_id="d")
    assert result == {"run_ids": [run.run_id], "n_outputs": 2}
    assert run.manifest["job_id"] == "job-20261202T120000-0000aaaa" and run.manifest["rescores"] is None
    assert run.manifest["params"]["nli_model"] is None and run.manifest["params"]["output_ids"] is None
    with corpus_writer(ws) as con:
        for table in ("citations", "output_units", "outputs"):
            con.execute(f"DELETE FROM {table}")
    assert run_pluralism_job(
        JobContext(ws, Job(job_id="job-20261202T120000-0000bbbb", stage="pluralism", debate_id="d"))
    ) == {
        "run_ids": [],
        "n_outputs": 0,
    }
