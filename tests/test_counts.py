"""One count of each thing (dembias.read.counts) and one vocabulary (dembias.read.vocabulary), on a hand-made workspace."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dembias.ingest import ingest_polis
from dembias.read.counts import COUNT_DEFINITIONS, DebateCounts, debate_counts, debates_overview
from dembias.read.vocabulary import COLUMN_LABELS, GLOSSARY, MISSING, glossary_markdown, readable_table
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import write_run
from tests.helpers import polis_folder

ROOT = Path(__file__).resolve().parents[1]
# Four comments (one rejected, two approved, one unmoderated), two participants in two Polis groups, five votes
# by three voters (voter 12 is not in the participants table: ingest adds everyone who voted or wrote).
VOTES = """timestamp,datetime,comment-id,voter-id,vote
1,x,0,10,1
2,x,0,11,-1
3,x,1,10,-1
4,x,1,11,0
5,x,0,12,1
"""
COMMENTS = """timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body
1000,x,0,10,2,0,1,Build more bike lanes downtown.
2000,x,1,11,0,2,0,Lower taxes on small businesses.
3000,x,2,10,1,1,-1,Spam spam spam.
4000,x,3,11,1,1,1,Keep the old tram line.
"""


@pytest.fixture
def ws(tmp_path) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    ingest_polis(ws, polis_folder(tmp_path / "export", votes=VOTES, comments=COMMENTS), debate_id="t", language="en")
    return ws


def mapping_run(ws: Workspace, *, groups: list[int]) -> str:
    """A hand-made opinion map of the three contributions not rejected, with the given vote group per voter."""
    assignments = pd.DataFrame(
        {"contribution_id": ["0", "1", "3"], "x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 2.0], "cluster": [0, 0, -1]}
    )
    voters = pd.DataFrame({"participant_pid": [f"p{i}" for i in range(len(groups))], "vote_group": groups})
    return write_run(
        ws, stage="mapping", debate_id="t", tables={"assignments": assignments, "vote_groups": voters}
    ).run_id


def test_counts_without_runs(ws):
    counts = debate_counts(ws, debate_id="t")
    assert counts == DebateCounts(
        debate_id="t",
        contributions=4,
        rejected=1,
        accepted=2,
        unmoderated=1,
        mapped=3,  # every contribution not rejected: unmoderated ones are read too
        participants=3,  # the two of the participants table and voter 12, who only voted
        voters=3,
        votes=5,
        vote_groups=None,  # not computed without a map
        polis_groups=2,
        countries=0,  # neither the contributions nor the debate name a country
        languages=1,
    )


def test_vote_groups_come_from_the_map_not_from_polis(ws):
    run_id = mapping_run(ws, groups=[0, 0, 0])
    counts = debate_counts(ws, debate_id="t", mapping_run=run_id)
    assert (counts.vote_groups, counts.polis_groups, counts.mapped) == (1, 2, 3)
    overview = debates_overview(ws).set_index("debate_id")
    assert overview.loc["t", "vote_groups"] == 1
    assert overview.loc["t", "map_run"] == run_id
    assert overview.loc["t", "accepted"] == 2


def test_unknown_debate_is_named(ws):
    with pytest.raises(KeyError, match="nope"):
        debate_counts(ws, debate_id="nope")


def test_every_count_is_defined_and_labelled():
    fields = set(DebateCounts.__dataclass_fields__) - {"debate_id"}
    assert fields == set(COUNT_DEFINITIONS)
    assert all(COLUMN_LABELS[f][1] for f in fields)


def test_docs_glossary_is_the_library_glossary():
    """docs/glossary.md is written from dembias.read.vocabulary: regenerate it with `python -m dembias.read.vocabulary`."""
    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    assert text == glossary_markdown()
    for term in ("vote group", "survival", "placebo", "UER", "BUR", "JR", "small cell", "p_s", "stance"):
        assert any(term in t for t in GLOSSARY), term


def test_readable_table():
    frame = pd.DataFrame(
        {
            "vote_group": [0.0, 1.0, None],
            "p_s": [0.5, 0.25, 0.25],
            "country": ["US", None, float("nan")],
            "is_minority": [True, False, True],
            "unlisted_column": ["a", "b", "c"],
        }
    )
    shown = readable_table(frame)
    assert list(shown.columns) == ["Vote group", "Share of debate", "Country", "Minority topic", "unlisted_column"]
    assert shown["Vote group"].tolist() == ["0", "1", MISSING]  # ids as integers, never 0.0 / 1.0 or None
    assert shown["Country"].tolist() == ["US", MISSING, MISSING]
    assert shown["Share of debate"].tolist() == [0.5, 0.25, 0.25]  # complete numeric columns stay numeric
    assert readable_table(pd.DataFrame({"ratio": [0.81234, None]}))["Summary / debate"].tolist() == ["0.8123", MISSING]
    assert readable_table(pd.DataFrame({"vote_group": [0.0, 1.0]}))["Vote group"].dtype == "Int64"
    # a column the caller configures keeps its name; two columns never get the same label
    assert "p_s" in readable_table(frame, keep=frozenset({"p_s"})).columns
    both = readable_table(pd.DataFrame({"group": [1], "vote_group": [2]}))
    assert list(both.columns) == ["Vote group", "vote_group"]
