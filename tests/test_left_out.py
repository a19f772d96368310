"""What a summary left out (dembias.read.left_out) on a tiny hand-made workspace: exact rows, votes, privacy, paging."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from dembias.ingest import ingest_contributions
from dembias.ingest.pseudonym import Pseudonymiser, load_key
from dembias.opinion_map.votes import comment_group_votes, load_votes
from dembias.read import left_out as lo
from dembias.read import queries
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import write_run
from tests.helpers import write

MAPPING = "mapping-20260101T000000-00000001"
PLURALISM = "pluralism-20260101T000000-00000001"
WITHHELD = "withheld (fewer than 5 contributors)"
# topic 0 (carried): six French contributions by six authors; topic 1 (dropped): four English ones by four authors
# writing from France (a (FR, en) cell of 4 authors) and one French one; one German contribution left unclustered
CONTRIBUTIONS = [
    *[(f"c{i}", f"Bike lanes now {i}", f"u{i}", "fr", "FR") for i in range(6)],
    ("d0", "Taxes are too high", "v0", "en", "FR"),
    ("d1", "Lower TAXES for shops", "v1", "en", "FR"),
    ("d2", "taxes hurt families", "v2", "en", "FR"),
    ("d3", "Parks, please", "v3", "en", "FR"),
    ("d4", "Moins d'impôts", "u0", "fr", "FR"),
    ("n0", "Etwas anderes", "w0", "de", "DE"),
]
GROUP_0 = [f"a{i}" for i in range(6)]  # six voters: agree with topic 0, disagree with topic 1 (pass on d4)
GROUP_1 = ["b0", "b1", "b2"]  # three voters (a small cell): the other way round


def _votes_csv() -> str:
    rows = ["contribution_id,voter_id,vote"]
    for cid, *_ in CONTRIBUTIONS[:11]:
        topic0 = cid.startswith("c")
        rows += [f"{cid},{v},{1 if topic0 else (0 if cid == 'd4' else -1)}" for v in GROUP_0]
        rows += [f"{cid},{v},{-1 if topic0 else 1}" for v in GROUP_1]
    return "\n".join(rows) + "\n"


@pytest.fixture
def ws(tmp_path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    lines = ["id,text,author,language,country"] + [",".join(f'"{v}"' for v in row) for row in CONTRIBUTIONS]
    path = write(tmp_path / "c.csv", "\n".join(lines) + "\n")
    ingest_contributions(workspace, path, debate_id="d", votes_path=write(tmp_path / "v.csv", _votes_csv()))
    pseudonym = Pseudonymiser(load_key(workspace.key_path), "d")
    groups = pd.Series({pseudonym.one(v): 0 for v in GROUP_0} | {pseudonym.one(v): 1 for v in GROUP_1})
    ids = [c[0] for c in CONTRIBUTIONS]
    write_run(
        workspace,
        stage="mapping",
        debate_id="d",
        run_id=MAPPING,
        tables={
            "assignments": pd.DataFrame(
                {
                    "contribution_id": ids,
                    "x": [float(i) for i in range(12)],
                    "y": [0.0] * 12,
                    "cluster": [0] * 6 + [1] * 5 + [-1],
                    "probability": [1.0] * 12,
                    "language": [c[3] for c in CONTRIBUTIONS],
                }
            ),
            "clusters": pd.DataFrame(
                {
                    "cluster": [0, 1],
                    "size": [6, 5],
                    "share": [0.5, 5 / 12],
                    "label": ["bike / lanes", "taxes / shops"],
                    "keywords": [["bike"], ["taxes"]],
                    "representative_ids": [["c0"], ["d0"]],
                }
            ),
            "vote_groups": groups.rename("vote_group").rename_axis("participant_pid").reset_index(),
            "comment_group_votes": comment_group_votes(load_votes(workspace, "d"), groups),
        },
    )
    write_run(
        workspace,
        stage="pluralism",
        debate_id="d",
        run_id=PLURALISM,
        tables={
            "cluster_coverage": pd.DataFrame(
                {
                    "output_id": ["o"] * 3,
                    "cluster": [0, 1, -1],
                    "size": [6, 5, 1],
                    "p_s": [0.5, 5 / 12, 1 / 12],
                    "p_t": [1.0, 0.0, 0.0],
                    "ratio": [2.0, 0.0, 0.0],
                    "covered": [True, False, False],
                    "is_minority": [False, True, False],
                }
            ),
            "opinion_groups": pd.DataFrame(
                {
                    "output_id": ["o", "o"],
                    "vote_group": [0, 1],
                    "n_participants": [6, 3],
                    "p_s": [2 / 3, 1 / 3],
                    "p_t": [1.0, 0.0],
                    "ratio": [1.5, 0.0],
                    "under_represented": [False, True],
                }
            ),
        },
    )
    return workspace


def test_left_out_lists_the_dropped_topic_and_group_with_one_status_definition(ws):
    items = lo.left_out(ws, pluralism_run=PLURALISM, mapping_run=MAPPING, output_id="o")
    assert items[["key", "kind", "id", "label", "status", "is_minority", "size"]].values.tolist() == [
        ["topic:1", "topic", 1, "topic 1: taxes / shops", "dropped", True, 5],
        ["group:1", "group", 1, "opinion group 1 (3 participants)", "dropped", True, 5],
    ]
    assert items["p_s"].round(4).tolist() == [round(5 / 12, 4), round(1 / 3, 4)]
    assert lo.left_out(ws, pluralism_run=PLURALISM, mapping_run=MAPPING, output_id="other").empty


def test_a_group_holds_the_contributions_it_agrees_with_clearly_more_than_the_others(ws):
    assert lo.group_contribution_ids(ws, mapping_run=MAPPING, vote_group=1) == ["d0", "d1", "d2", "d3", "d4"]
    assert lo.group_contribution_ids(ws, mapping_run=MAPPING, vote_group=0) == [f"c{i}" for i in range(6)]
    assert lo.item_contribution_ids(ws, mapping_run=MAPPING, kind="topic", ident=0) == [f"c{i}" for i in range(6)]


def test_contributions_of_a_topic_text_first_with_the_one_privacy_rule_and_votes(ws):
    page = lo.left_out_contributions(ws, debate_id="d", mapping_run=MAPPING, kind="topic", ident=1)
    assert (page.total, page.n_pages, page.offset) == (5, 1, 0)
    rows = page.rows.set_index("contribution_id")
    assert list(page.rows.columns[:4]) == ["contribution_id", "text", "country", "language"]
    assert sorted(rows.index) == ["d0", "d1", "d2", "d3", "d4"]  # every text is shown
    # (FR, en) has 4 authors in the debate: withheld; (FR, fr) has 6 (d4's author wrote in topic 0 too): shown
    assert rows.loc["d0", ["country", "language"]].tolist() == [WITHHELD, WITHHELD]
    assert rows.loc["d4", ["country", "language"]].tolist() == ["FR", "fr"]
    # group 0: six voters, each disagreed with d0; group 1: three voters, a small cell: its shares are withheld
    assert rows.loc["d0", ["group 0 agree", "group 0 disagree", "group 0 pass", "group 0 n"]].tolist() == [0, 1, 0, 6]
    assert rows.loc["d4", ["group 0 pass", "group 0 n"]].tolist() == [1, 6]
    assert math.isnan(rows.loc["d0", "group 1 agree"]) and rows.loc["d0", "group 1 n"] == 3


def test_search_is_case_insensitive_literal_and_paged(ws):
    def ids(**kwargs):
        page = lo.left_out_contributions(ws, debate_id="d", mapping_run=MAPPING, kind="topic", ident=1, **kwargs)
        return sorted(page.rows["contribution_id"]), page.total

    assert ids(search="TAXES") == (["d0", "d1", "d2"], 3)
    assert ids(search="%") == ([], 0)  # a parameter compared literally, never a pattern
    assert ids(search="'; DROP TABLE contributions; --") == ([], 0)
    first = lo.left_out_contributions(ws, debate_id="d", mapping_run=MAPPING, kind="topic", ident=1, limit=2)
    rest = lo.left_out_contributions(ws, debate_id="d", mapping_run=MAPPING, kind="topic", ident=1, limit=2, offset=2)
    last = lo.left_out_contributions(ws, debate_id="d", mapping_run=MAPPING, kind="topic", ident=1, limit=2, offset=4)
    pages = [first.rows["contribution_id"].tolist(), rest.rows["contribution_id"].tolist()]
    assert first.n_pages == 3 and len(last.rows) == 1
    assert sorted(pages[0] + pages[1] + last.rows["contribution_id"].tolist()) == ["d0", "d1", "d2", "d3", "d4"]
    with pytest.raises(ValueError):
        lo.left_out_contributions(ws, debate_id="d", mapping_run=MAPPING, kind="topic", ident=1, limit=0)
    with pytest.raises(ValueError, match="topic or a group"):
        lo.left_out_contributions(ws, debate_id="d", mapping_run=MAPPING, kind="country", ident=1)


def test_vote_rates_per_group_with_n_and_small_cells_withheld(ws):
    rates = lo.vote_rates(ws, debate_id="d", mapping_run=MAPPING, contribution_ids=["d0", "d1", "d2", "d3", "d4"])
    assert rates[["vote_group", "n_voters", "n_votes", "suppressed"]].values.tolist() == [
        [0, 6, 30, False],
        [1, 3, 15, True],
    ]
    assert rates.loc[0, ["agree", "disagree", "pass"]].tolist() == [0.0, 0.8, 0.2]
    assert rates.loc[1, ["agree", "disagree", "pass"]].isna().all()
    none = lo.vote_rates(ws, debate_id="d", mapping_run=MAPPING, contribution_ids=["n0"])
    assert none["n_voters"].tolist() == [0, 0] and none["suppressed"].all()


def test_breakdown_of_a_slice_suppresses_small_cells(ws):
    ids = ["d0", "d1", "d2", "d3", "d4"]
    by_language = lo.slice_breakdown(ws, debate_id="d", contribution_ids=ids, by="language")
    assert by_language[["value", "suppressed"]].values.tolist() == [["en", True], ["fr", True]]
    by_country = lo.slice_breakdown(ws, debate_id="d", contribution_ids=ids, by="country")
    assert by_country[["value", "n", "suppressed"]].values.tolist() == [["FR", 5, False]]


def test_item_keys_round_trip_and_refuse_others():
    assert lo.parse_key(lo.item_key("group", 1)) == ("group", 1)
    assert lo.parse_key("topic:-1") == ("topic", -1)
    for bad in ("topic", "cluster:1", "topic:x", "group:1;--"):
        with pytest.raises(ValueError):
            lo.parse_key(bad)


def test_the_map_and_the_lasso_table_follow_the_same_rule(ws):
    points = queries.map_points(ws, debate_id="d", mapping_run=MAPPING).set_index("contribution_id")
    assert points.loc["d1", ["country", "language"]].tolist() == [WITHHELD, WITHHELD]
    assert points.loc["c1", ["country", "language"]].tolist() == ["FR", "fr"]
    assert points.loc["d1", "text"] == "Lower TAXES for shops"
    detail = queries.contributions_detail(ws, debate_id="d", mapping_run=MAPPING, contribution_ids=["d1", "n0"])
    assert detail.set_index("contribution_id")["country"].tolist() == [WITHHELD, WITHHELD]
