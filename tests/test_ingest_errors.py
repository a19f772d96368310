"""Bad input: one clear error naming file, row and field, and a workspace left exactly as it was."""

from __future__ import annotations

import json

import pytest

from dembias.errors import IngestError
from dembias.ingest import ingest_contributions, ingest_outputs, ingest_polis
from dembias.workspace.folder import Workspace
from tests.helpers import POLIS_COMMENTS, POLIS_VOTES, polis_folder, tree_digest, write


@pytest.fixture
def ws(tmp_path):
    workspace = Workspace(tmp_path / "ws")
    ingest_polis(workspace, polis_folder(tmp_path / "good"), debate_id="existing", language="en")
    return workspace


def assert_refused(ws, call, *, file_endswith, row, field, problem):
    before = tree_digest(ws.root)
    with pytest.raises(IngestError) as caught:
        call()
    err = caught.value
    assert err.file.endswith(file_endswith)
    assert (err.row, err.field) == (row, field)
    assert problem in str(err)
    assert str(err).startswith(err.file)
    assert tree_digest(ws.root) == before, "a refused ingest must leave the workspace unchanged"


def test_missing_column(ws, tmp_path):
    export = polis_folder(tmp_path / "x", comments=POLIS_COMMENTS.replace("comment-body", "body"))
    assert_refused(
        ws,
        lambda: ingest_polis(ws, export),
        file_endswith="comments.csv",
        row=1,
        field="comment-body",
        problem="missing column",
    )


def test_empty_text(ws, tmp_path):
    export = polis_folder(tmp_path / "x", comments=POLIS_COMMENTS.replace("Lower taxes on small businesses.", '""'))
    assert_refused(
        ws, lambda: ingest_polis(ws, export), file_endswith="comments.csv", row=3, field="comment-body", problem="empty"
    )


def test_duplicate_id(ws, tmp_path):
    export = polis_folder(tmp_path / "x", comments=POLIS_COMMENTS.replace("3000,x,2,", "3000,x,1,"))
    assert_refused(
        ws,
        lambda: ingest_polis(ws, export),
        file_endswith="comments.csv",
        row=4,
        field="comment-id",
        problem="duplicate id '1'",
    )


def test_unknown_vote_value(ws, tmp_path):
    export = polis_folder(tmp_path / "x", votes=POLIS_VOTES.replace("5,x,1,11,0", "5,x,1,11,2"))
    assert_refused(
        ws,
        lambda: ingest_polis(ws, export),
        file_endswith="votes.csv",
        row=6,
        field="vote",
        problem="'2' is not one of [-1, 0, 1]",
    )


def test_vote_for_missing_contribution(ws, tmp_path):
    # a user's own votes file must match its contributions (a Polis export's stray votes are skipped
    # and counted instead: tests/test_inputs.py)
    contributions = write(tmp_path / "c.csv", "id,text\n1,Bike lanes now.\n2,Lower taxes.\n")
    votes = write(tmp_path / "v.csv", "contribution_id,voter_id,vote\n1,a,1\n9,a,-1\n")
    assert_refused(
        ws,
        lambda: ingest_contributions(ws, contributions, debate_id="new", language="en", votes_path=votes),
        file_endswith="v.csv",
        row=3,
        field="contribution_id",
        problem="'9'",
    )


def test_citation_to_missing_contribution(ws, tmp_path):
    path = write(
        tmp_path / "outputs.jsonl",
        json.dumps({"debate_id": "existing", "task": "summary", "model": "m", "text": "Bikes. [0]"})
        + "\n"
        + json.dumps(
            {"debate_id": "existing", "task": "summary", "model": "m", "text": "Taxes. [7]", "inline_citations": True}
        )
        + "\n",
    )
    assert_refused(
        ws, lambda: ingest_outputs(ws, path), file_endswith="outputs.jsonl", row=2, field="citations", problem="'7'"
    )


def test_undecodable_bytes(ws, tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("id,text\n1,Caf\xe9 cr\xe8me\n".encode("latin-1"))
    assert_refused(
        ws,
        lambda: ingest_contributions(ws, path, debate_id="new"),
        file_endswith="latin.csv",
        row=None,
        field=None,
        problem="cannot be decoded as utf-8 (text line 2)",
    )
    # with the right encoding it goes in
    ingest_contributions(ws, path, debate_id="new", encoding="latin-1", language="fr")


def test_debate_that_already_exists_offers_replace(ws, tmp_path):
    export = polis_folder(tmp_path / "x")
    assert_refused(
        ws,
        lambda: ingest_polis(ws, export, debate_id="existing"),
        file_endswith="x",
        row=None,
        field="debate_id",
        problem="--replace",
    )
    ingest_polis(ws, export, debate_id="existing", replace=True)


def test_unknown_task_and_bad_json(ws, tmp_path):
    path = write(tmp_path / "o.jsonl", '{"debate_id": "existing", "task": "poem", "model": "m", "text": "x"}\n')
    assert_refused(
        ws, lambda: ingest_outputs(ws, path), file_endswith="o.jsonl", row=1, field="task", problem="unknown task"
    )
    path = write(tmp_path / "p.jsonl", '{"debate_id": "existing"\n')
    assert_refused(
        ws, lambda: ingest_outputs(ws, path), file_endswith="p.jsonl", row=1, field=None, problem="not valid JSON"
    )


def test_failure_midway_through_a_multi_debate_file_stores_nothing(ws, tmp_path):
    path = write(tmp_path / "multi.csv", "id,text,debate\n1,hello there,a\n2,second,b\n3,,b\n")
    assert_refused(
        ws,
        lambda: ingest_contributions(ws, path, language="en"),
        file_endswith="multi.csv",
        row=4,
        field="text",
        problem="empty",
    )
