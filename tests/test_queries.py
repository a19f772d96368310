"""Dashboard queries on a tiny hand-made workspace: exact rows, suppression, sampling, unit positions."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dembias.ingest import ingest_contributions, ingest_outputs
from dembias.read import queries
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import write_run
from tests.helpers import write


@pytest.fixture
def ws(tmp_path) -> Workspace:
    workspace = Workspace(tmp_path / "ws")
    rows = ["id,text,author,language"]
    # cluster 0: 6 contributions by 6 authors (fr); cluster 1: 4 contributions by 2 authors (en)
    rows += [f"a{i},Texte {i},u{i},fr" for i in range(6)]
    rows += [f"b{i},Text {i},v{i % 2},en" for i in range(4)]
    path = write(tmp_path / "c.csv", "\n".join(rows) + "\n")
    ingest_contributions(workspace, path, debate_id="d", country="FR")
    ids = [f"a{i}" for i in range(6)] + [f"b{i}" for i in range(4)]
    write_run(
        workspace,
        stage="mapping",
        debate_id="d",
        run_id="mapping-20260101T000000-00000001",
        tables={
            "assignments": pd.DataFrame(
                {
                    "contribution_id": ids,
                    "x": [float(i) for i in range(10)],
                    "y": [0.0] * 10,
                    "cluster": [0] * 6 + [1] * 4,
                    "probability": [1.0] * 10,
                    "language": ["fr"] * 6 + ["en"] * 4,
                }
            ),
            "clusters": pd.DataFrame(
                {
                    "cluster": [0, 1],
                    "size": [6, 4],
                    "share": [0.6, 0.4],
                    "label": ["texte", "text"],
                    "keywords": [["texte"], ["text"]],
                    "representative_ids": [["a0"], ["b0"]],
                }
            ),
        },
    )
    outputs = write(
        tmp_path / "o.jsonl",
        json.dumps(
            {
                "debate_id": "d",
                "task": "summary",
                "model": "m",
                "units": [{"text": "About a0 and a2", "citations": ["a0", "a2"]}],
                "text": "About a0 and a2",
            }
        )
        + "\n",
    )
    ingest_outputs(workspace, outputs)
    return workspace


MAPPING = "mapping-20260101T000000-00000001"


def test_breakdown_suppresses_cells_under_five_contributors(ws):
    table = queries.cluster_breakdown(ws, debate_id="d", mapping_run=MAPPING, clusters=[0, 1], by="language")
    assert table[["cluster", "value", "suppressed"]].values.tolist() == [[0, "fr", False], [1, "en", True]]
    assert table.loc[0, "n"] == 6 and pd.isna(table.loc[1, "n"])  # 4 contributions, 2 authors: no count shown
    by_country = queries.cluster_breakdown(ws, debate_id="d", mapping_run=MAPPING, clusters=[0], by="country")
    assert by_country["value"].tolist() == ["FR"]  # the debate's country when a contribution has none
    with pytest.raises(ValueError):
        queries.cluster_breakdown(ws, debate_id="d", mapping_run=MAPPING, clusters=[0], by="author_pid")


def test_map_points_sample_is_capped_and_deterministic(ws):
    full = queries.map_points(ws, debate_id="d", mapping_run=MAPPING, cap=100)
    assert sorted(full["contribution_id"]) == sorted([f"a{i}" for i in range(6)] + [f"b{i}" for i in range(4)])
    assert set(full.columns) >= {"x", "y", "cluster", "label", "text", "language", "vote_group"}
    by_id = full.set_index("contribution_id")
    assert by_id.loc["a3", ["country", "language"]].tolist() == ["FR", "fr"]  # the same rule on the map's points
    assert by_id.loc["b3", "country"] == "withheld (fewer than 5 contributors)"
    first = queries.map_points(ws, debate_id="d", mapping_run=MAPPING, cap=4)
    again = queries.map_points(ws, debate_id="d", mapping_run=MAPPING, cap=4)
    assert len(first) == 4 and first["contribution_id"].tolist() == again["contribution_id"].tolist()


def test_texts_and_details_of_selected_contributions(ws):
    # the one quote rule: texts shown; (FR, en) has 2 authors in the debate, so b2's country and language are withheld
    texts = queries.contribution_texts(ws, debate_id="d", contribution_ids=["a1", "b2", "zz"])
    withheld = "withheld (fewer than 5 contributors)"
    assert sorted(texts[["contribution_id", "country", "language", "text"]].values.tolist()) == [
        ["a1", "FR", "fr", "Texte 1"],
        ["b2", withheld, withheld, "Text 2"],
    ]
    detail = queries.contributions_detail(ws, debate_id="d", mapping_run=MAPPING, contribution_ids=["b1", "a0"])
    assert detail[["contribution_id", "cluster", "cluster_label", "country", "language"]].values.tolist() == [
        ["a0", 0, "texte", "FR", "fr"],
        ["b1", 1, "text", withheld, withheld],
    ]


def test_run_table_never_loads_embeddings(ws):
    with pytest.raises(ValueError):
        queries.run_table(ws, MAPPING, "embeddings")
    assert queries.run_table(ws, MAPPING, "no_such_table").empty


def test_unit_links_are_filtered_and_capped_in_duckdb(ws):
    output_id = queries.outputs_table(ws, "d")["output_id"].iloc[0]
    write_run(
        ws,
        stage="pluralism",
        debate_id="d",
        run_id="pluralism-20260101T000000-00000001",
        tables={
            "links": pd.DataFrame(
                {
                    "output_id": [output_id] * 3,
                    "unit_index": [0, 0, 0],
                    "contribution_id": ["a0", "a2", "b1"],
                    "method": ["citation", "citation", "similarity"],
                    "score": [1.0, 1.0, 0.7],
                }
            )
        },
    )

    def links(**kwargs):
        frame, total = queries.unit_links(
            ws, pluralism_run="pluralism-20260101T000000-00000001", mapping_run=MAPPING, output_id=output_id, **kwargs
        )
        return frame["contribution_id"].tolist(), total

    assert links() == (["a0", "a2", "b1"], 3)
    assert links(clusters=[1]) == (["b1"], 1)
    assert links(contribution_ids=["a2", "zz"]) == (["a2"], 1)
    assert links(contribution_ids=[]) == ([], 0)
    assert links(limit=2) == (["a0", "a2"], 3)  # capped, with the count before the cap
