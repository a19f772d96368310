"""The workspace store: migrations, copy-on-write corpus, atomic immutable runs, read-only readers."""

from __future__ import annotations

import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from dembias.errors import StoreError
from dembias.workspace.corpus import corpus_writer, open_corpus
from dembias.workspace.folder import Workspace
from dembias.workspace.identifiers import quote_identifier
from dembias.workspace.runs import RunRecord, latest_run, list_runs, read_run_table, write_run
from dembias.workspace.schema import LATEST_SCHEMA_VERSION, schema_version
from tests.helpers import tree_digest


def test_new_corpus_is_migrated_to_latest_version(tmp_path):
    ws = Workspace(tmp_path)
    with corpus_writer(ws):
        pass
    con = open_corpus(ws)
    assert schema_version(con) == LATEST_SCHEMA_VERSION
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert {"debates", "contributions", "participants", "votes", "outputs", "output_units", "citations"} <= tables
    con.close()


def test_failed_write_leaves_corpus_byte_identical(tmp_path):
    ws = Workspace(tmp_path)
    with corpus_writer(ws) as con:
        con.execute("INSERT INTO debates (debate_id, title, platform, ingested_at) VALUES ('a', 'A', 'x', now())")
    before = tree_digest(tmp_path)
    with pytest.raises(RuntimeError), corpus_writer(ws) as con:
        con.execute("INSERT INTO debates (debate_id, title, platform, ingested_at) VALUES ('b', 'B', 'x', now())")
        raise RuntimeError("boom")
    assert tree_digest(tmp_path) == before
    con = open_corpus(ws)
    assert con.execute("SELECT list(debate_id) FROM debates").fetchall()[0][0] == ["a"]
    con.close()


def test_reader_in_another_process_is_not_locked_out_by_a_writer(tmp_path):
    ws = Workspace(tmp_path)
    with corpus_writer(ws) as con:
        con.execute("INSERT INTO debates (debate_id, title, platform, ingested_at) VALUES ('a', 'A', 'x', now())")
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb,sys,time; c=duckdb.connect(sys.argv[1], read_only=True); "
            "print(c.execute('select count(*) from debates').fetchall()[0][0], flush=True); time.sleep(3); "
            "print(c.execute('select count(*) from debates').fetchall()[0][0], flush=True)",
            str(ws.corpus_path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    first = reader.stdout.readline().strip()
    with corpus_writer(ws) as con:  # the reader holds the old file open; the writer must still succeed
        con.execute("INSERT INTO debates (debate_id, title, platform, ingested_at) VALUES ('b', 'B', 'x', now())")
    out, _ = reader.communicate(timeout=30)
    assert reader.returncode == 0
    assert first == "1" and out.strip() == "1"  # the reader keeps its consistent snapshot
    con = open_corpus(ws)
    assert con.execute("SELECT count(*) FROM debates").fetchall()[0][0] == 2
    con.close()


def test_runs_are_atomic_listed_and_immutable(tmp_path):
    ws = Workspace(tmp_path)
    frame = pd.DataFrame({"contribution_id": ["1", "2"], "cluster": [0, 1]})
    info = write_run(
        ws, stage="mapping", debate_id="d", tables={"assignments": frame}, record=RunRecord(params={"seed": 1})
    )
    assert [r.run_id for r in list_runs(ws, stage="mapping", debate_id="d")] == [info.run_id]
    assert latest_run(ws, stage="mapping", debate_id="d").manifest["params"] == {"seed": 1}
    assert info.manifest["tables"] == {"assignments": 2}
    assert "duckdb" in info.manifest["packages"]
    pd.testing.assert_frame_equal(read_run_table(ws, info.run_id, "assignments"), frame, check_dtype=False)
    with pytest.raises(StoreError, match="never modified"):
        write_run(ws, stage="mapping", tables={"assignments": frame}, run_id=info.run_id)
    # a run file without its manifest (a crash between the two renames) is not listed
    ws.run_path(info.run_id).with_suffix(".json").unlink()
    assert list_runs(ws) == []
    assert not [p for p in ws.runs_dir.iterdir() if p.name.startswith(".")]


def test_failed_run_write_leaves_nothing(tmp_path):
    ws = Workspace(tmp_path)

    class Unconvertible:
        pass

    bad = pd.DataFrame({"x": [Unconvertible()]})
    with pytest.raises(Exception):  # noqa: B017 - any conversion error will do
        write_run(ws, stage="mapping", tables={"t": bad})
    assert list(ws.runs_dir.iterdir()) == []


@pytest.mark.parametrize("name", ["debates; DROP TABLE x", 'a"b', "1abc", ""])
def test_identifiers_are_whitelisted(name):
    with pytest.raises(StoreError):
        quote_identifier(name)


def test_open_corpus_refuses_missing_workspace(tmp_path):
    with pytest.raises(StoreError, match="dembias demo"):
        open_corpus(Workspace(tmp_path / "nothing"))


def test_readers_coexist_read_only(tmp_path):
    ws = Workspace(tmp_path)
    with corpus_writer(ws):
        pass
    a, b = open_corpus(ws), duckdb.connect(str(ws.corpus_path), read_only=True)
    assert a.execute("SELECT 1").fetchall() == b.execute("SELECT 1").fetchall()
    a.close()
    b.close()
