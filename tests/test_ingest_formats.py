"""Generic contributions (CSV, JSONL, Parquet), model outputs JSONL and the Sensemaker report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dembias.ingest import ingest_contributions, ingest_outputs, ingest_polis, ingest_sensemaker
from dembias.ingest.language import detect_language
from dembias.ingest.outputs import extract_inline_citations
from dembias.ingest.sentences import split_sentences
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from tests.helpers import polis_folder, write

DATA = Path(__file__).resolve().parent.parent / "data" / "sources"

ROWS = [
    {
        "cid": "a1",
        "body": "Il faut plus de pistes cyclables à Lyon.",
        "who": "alice",
        "pays": "FR",
        "age": "18-25",
        "up": "3",
    },
    {"cid": "a2", "body": "Wir brauchen mehr Radwege in Wien.", "who": "bob", "pays": "AT", "age": "26-40", "up": "0"},
    {"cid": "a3", "body": "We need more bike lanes in Leeds.", "who": "alice", "pays": "GB", "age": "18-25", "up": ""},
]
MAPPING = {"id": "cid", "text": "body", "author": "who", "country": "pays", "agree": "up"}


def read_back(ws: Workspace, debate: str) -> list[tuple]:
    con = open_corpus(ws)
    rows = con.execute(
        "SELECT contribution_id, text, language, country, n_agree, metadata->>'age', author_pid "
        "FROM contributions WHERE debate_id = ? ORDER BY contribution_id",
        [debate],
    ).fetchall()
    con.close()
    return rows


@pytest.mark.parametrize("suffix", ["csv", "jsonl", "parquet", "tsv"])
def test_generic_formats_give_the_same_rows(tmp_path, suffix):
    frame = pd.DataFrame(ROWS)
    path = tmp_path / f"c.{suffix}"
    if suffix == "csv":
        frame.to_csv(path, index=False, sep=";")  # the delimiter is sniffed
    elif suffix == "tsv":
        frame.to_csv(path, index=False, sep="\t")
    elif suffix == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path)
    ws = Workspace(tmp_path / "ws")
    counts = ingest_contributions(ws, path, debate_id="bikes", columns=MAPPING)
    assert counts == {"bikes": {"contributions": 3, "vote_rows": 0, "votes": 0}}
    rows = read_back(ws, "bikes")
    assert [r[:6] for r in rows] == [
        ("a1", ROWS[0]["body"], "fr", "FR", 3, "18-25"),
        ("a2", ROWS[1]["body"], "de", "AT", 0, "26-40"),
        ("a3", ROWS[2]["body"], "en", "GB", None, "18-25"),
    ]
    assert rows[0][6] == rows[2][6] != rows[1][6]  # same author, same pseudonym
    assert "alice" not in {r[6] for r in rows}


def test_debate_column_splits_a_file_and_votes_file_is_read(tmp_path):
    path = write(tmp_path / "c.csv", "id,text,debate,language\n1,One,x,en\n2,Two,y,en\n3,Three,x,en\n")
    ws = Workspace(tmp_path / "ws")
    assert set(ingest_contributions(ws, path)) == {"x", "y"}
    votes = write(
        tmp_path / "v.csv",
        "contribution_id,voter_id,vote,timestamp\n1,u,1,2024-01-01T00:00:00\n1,u,-1,2024-01-02T00:00:00\n",
    )
    single = write(tmp_path / "s.csv", "id,text\n1,One\n")
    ingest_contributions(ws, single, debate_id="z", language="en", votes_path=votes)
    con = open_corpus(ws)
    assert con.execute("SELECT vote FROM votes WHERE debate_id = 'z'").fetchall() == [(-1,)]
    con.close()


def test_language_detection_offline():
    assert detect_language("Für die Klimaneutralität sollen Zigaretten gar nicht mehr erzeugt werden") == "de"
    assert detect_language("La ville doit construire plus de pistes cyclables") == "fr"
    assert detect_language("Il comune dovrebbe costruire più piste ciclabili") == "it"
    assert detect_language("12345 !!!") == "und"


def test_sentence_split_and_inline_citations():
    assert split_sentences("First point. Second point!\n\n- a bullet\n- another") == [
        "First point.",
        "Second point!",
        "- a bullet",
        "- another",
    ]
    assert extract_inline_citations("Bikes matter [12, 40].") == ("Bikes matter.", ["12", "40"])


def test_outputs_jsonl_units_and_citations(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ingest_polis(ws, polis_folder(tmp_path / "export"), debate_id="t", language="en")
    lines = [
        {
            "debate_id": "t",
            "task": "summary",
            "model": "m",
            "text": "People want bikes [0]. Taxes split them [1].",
            "inline_citations": True,
        },
        {
            "debate_id": "t",
            "task": "reformulation",
            "model": "m",
            "source_ids": [0],
            "text": "More bike lanes downtown.",
        },
        {
            "debate_id": "t",
            "task": "translation",
            "model": "m",
            "source_ids": ["1"],
            "target_language": "fr",
            "text": "Baisser les impôts.",
        },
        {
            "debate_id": "t",
            "task": "summary",
            "model": "m2",
            "text": "x",
            "units": [{"text": "Bikes.", "citations": ["0", "1"]}],
        },
    ]
    path = write(tmp_path / "o.jsonl", "\n".join(json.dumps(x) for x in lines) + "\n")
    assert ingest_outputs(ws, path) == 4
    con = open_corpus(ws)
    units = con.execute(
        "SELECT o.model, o.task, u.unit_index, u.text, list(c.contribution_id ORDER BY c.contribution_id) "
        "FROM output_units u JOIN outputs o USING (output_id) "
        "LEFT JOIN citations c ON c.output_id = u.output_id AND c.unit_index = u.unit_index "
        "GROUP BY ALL ORDER BY o.model, o.task, u.unit_index"
    ).fetchall()
    con.close()
    assert units == [
        ("m", "reformulation", 0, "More bike lanes downtown.", [None]),
        ("m", "summary", 0, "People want bikes.", ["0"]),
        ("m", "summary", 1, "Taxes split them.", ["1"]),
        ("m", "translation", 0, "Baisser les impôts.", [None]),
        ("m2", "summary", 0, "Bikes.", ["0", "1"]),
    ]
    # ingesting the same file again is refused (same output ids) and --replace replaces
    with pytest.raises(Exception, match="already exists"):
        ingest_outputs(ws, path)
    assert ingest_outputs(ws, path, replace=True) == 4


def test_sensemaker_report_units_and_citations(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ingest_polis(ws, DATA / "polis" / "american-assembly.bowling-green", debate_id="bg", language="en")
    n_units = ingest_sensemaker(
        ws,
        DATA / "sensemaker-bowling-green" / "summary.json",
        debate_id="bg",
        comments_path=DATA / "sensemaker-bowling-green" / "comments.json",
    )
    report = json.loads((DATA / "sensemaker-bowling-green" / "summary.json").read_text())
    expected_citations: set[str] = set()
    n_cited_items = 0

    def walk(items):
        nonlocal n_cited_items
        for it in items:
            if it.get("citations") and it.get("text", "").strip():
                n_cited_items += 1
                expected_citations.update(map(str, it["citations"]))
            walk(it.get("subContents", []))

    walk(report["contents"])
    con = open_corpus(ws)
    model, n = con.execute(
        "SELECT model, count(*) FROM outputs JOIN output_units USING (output_id) GROUP BY 1"
    ).fetchall()[0]
    assert (model, n) == ("gemini (sensemaking-tools)", n_units)
    cited = {r[0] for r in con.execute("SELECT DISTINCT contribution_id FROM citations").fetchall()}
    assert cited == expected_citations and len(cited) == 251
    n_units_with_citations = con.execute("SELECT count(DISTINCT unit_index) FROM citations").fetchall()[0][0]
    assert n_units_with_citations == n_cited_items
    kinds = dict(con.execute("SELECT kind, count(*) FROM output_units GROUP BY 1").fetchall())
    assert kinds["common_ground"] > 0 and kinds["differences"] > 0
    con.close()
