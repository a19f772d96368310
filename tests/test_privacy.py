"""Privacy of the demo workspace: no raw author or voter id is stored anywhere, and the key stays out.

Polis ids are small integers that also occur as comment ids and counts, so searching for them as
strings proves nothing. Instead:

* the identity columns (``author_pid``, ``participant_pid`` and any column named like an author,
  participant, voter or user id, in the corpus and in every run file) hold only pseudonyms, and those
  are exactly the keyed HMAC pseudonyms of the source's raw ids, debate by debate;
* no column of any table, whatever its name, carries the raw id behind a row: for every table keyed
  by contribution (or by participant), no other column equals the raw author (participant) id of its
  row — the test that would catch ``author_id`` stored under another name;
* pseudonyms cannot be linked across debates, the key is in no database nor in ``dembias info --json``,
  and the key file is readable by its owner only.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from typer.testing import CliRunner

from dembias.cli import app
from dembias.ingest.pseudonym import KEY_ENV, Pseudonymiser, load_key
from dembias.jobs.demo import load_demo_manifest
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import list_runs, open_run
from dembias.workspace.schema import CORPUS_TABLES

PSEUDONYM = re.compile(r"^p_[0-9a-f]{20}$")
IDENTITY_NAME = re.compile(r"(^|_)(author|participant|voter|user|member)(_?(id|pid|ids|pids))?$", re.IGNORECASE)


def raw_ids(folder: Path) -> dict[str, set[str]]:
    """Raw author ids (comments.csv) and participant ids (votes.csv voters and participants-votes.csv)."""
    comments = pd.read_csv(folder / "comments.csv", dtype=str, keep_default_na=False)
    authors = {a.strip() for a in comments["author-id"] if a.strip()}
    participants: set[str] = set()
    if (folder / "votes.csv").exists():
        votes = pd.read_csv(folder / "votes.csv", dtype=str, keep_default_na=False, usecols=["voter-id"])
        participants |= {v.strip() for v in votes["voter-id"] if v.strip()}
    matrix = pd.read_csv(folder / "participants-votes.csv", dtype=str, keep_default_na=False, usecols=["participant"])
    participants |= {p.strip() for p in matrix["participant"] if p.strip()}
    return {"authors": authors, "participants": participants}


@pytest.fixture(scope="module")
def sources(demo_ws) -> dict[str, dict]:
    """Per debate: raw ids, their pseudonyms, and the maps back (pseudonym -> raw id)."""
    key = load_key(demo_ws.key_path)
    out = {}
    for entry in load_demo_manifest()["polis"]:
        ids = raw_ids(Path(entry["folder"]))
        pseud = Pseudonymiser(key, entry["debate_id"])
        out[entry["debate_id"]] = {
            **ids,
            "author_pids": {pseud.one(a) for a in ids["authors"]},
            "participant_pids": {pseud.one(p) for p in ids["participants"]},
            "back": {pseud.one(r): r for r in ids["authors"] | ids["participants"]},
        }
    return out


def corpus_frames(ws: Workspace) -> dict[str, pd.DataFrame]:
    con = open_corpus(ws)
    try:
        return {t: con.execute(f'SELECT * FROM "{t}"').df() for t in CORPUS_TABLES}
    finally:
        con.close()


def run_frames(ws: Workspace) -> list[tuple[str, str | None, str, pd.DataFrame]]:
    """(run id, debate, table, frame) of every table of every run, without array columns."""
    out = []
    for run in list_runs(ws):
        con = open_run(ws, run.run_id)
        try:
            for (table,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall():
                columns = [
                    name
                    for name, dtype in con.execute(
                        "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = ?", [table]
                    ).fetchall()
                    if "[" not in dtype and dtype not in ("BLOB",)
                ]
                if columns:
                    quoted = ", ".join('"' + c.replace('"', '""') + '"' for c in columns)
                    frame = con.execute(f'SELECT {quoted} FROM "{table}"').df()
                    out.append((run.run_id, run.debate_id, table, frame))
        finally:
            con.close()
    return out


def columns_echoing(frame: pd.DataFrame, raw_of_row: pd.Series, *, skip: set[str]) -> list[str]:
    """Columns whose value is the raw id of their row for at least 90% of (at least 10) rows."""
    known = raw_of_row.notna()
    if known.sum() < 10:
        return []
    leaks = []
    for column in frame.columns:
        if column in skip:
            continue
        values = frame.loc[known, column].astype(str).str.strip()
        if (values == raw_of_row[known].astype(str)).mean() >= 0.9:
            leaks.append(column)
    return leaks


def test_the_leak_detector_finds_a_raw_id_under_any_name():
    frame = pd.DataFrame({"contribution_id": [str(i) for i in range(20)], "who": [str(i % 7) for i in range(20)]})
    raw = pd.Series([str(i % 7) for i in range(20)])
    assert columns_echoing(frame, raw, skip=set()) == ["who"]
    assert columns_echoing(frame, raw, skip={"who"}) == []


def test_identity_columns_hold_exactly_the_keyed_pseudonyms(demo_ws, sources):
    frames = corpus_frames(demo_ws)
    for debate, src in sources.items():
        contributions = frames["contributions"].query("debate_id == @debate")
        authors = set(contributions["author_pid"].dropna())
        assert authors == src["author_pids"], debate
        assert all(PSEUDONYM.match(p) for p in authors)
        participants = set(frames["participants"].query("debate_id == @debate")["participant_pid"])
        assert participants == src["participant_pids"], debate
        voters = set(frames["votes"].query("debate_id == @debate")["participant_pid"])
        assert voters <= participants and voters, debate
        assert not (authors | participants) & (src["authors"] | src["participants"])


def test_no_column_of_the_corpus_echoes_a_raw_id(demo_ws, sources):
    frames = corpus_frames(demo_ws)
    contributions = frames["contributions"]
    raw_author = pd.Series(
        [
            sources.get(d, {}).get("back", {}).get(p)
            for d, p in zip(contributions["debate_id"], contributions["author_pid"], strict=True)
        ],
        index=contributions.index,
    )
    assert columns_echoing(contributions, raw_author, skip={"author_pid"}) == []
    for table in ("participants", "votes"):
        frame = frames[table]
        raw = pd.Series(
            [sources[d]["back"].get(p) for d, p in zip(frame["debate_id"], frame["participant_pid"], strict=True)],
            index=frame.index,
        )
        assert raw.notna().all(), f"{table}: a participant pseudonym that no source id explains"
        assert columns_echoing(frame, raw, skip={"participant_pid"}) == [], table
    for table, frame in frames.items():
        for column in frame.columns:
            if IDENTITY_NAME.search(column) and column not in ("author_pid", "participant_pid"):
                pytest.fail(f"corpus table {table} has an identity column {column!r} that is not pseudonymised")


def test_no_run_table_holds_or_echoes_a_raw_id(demo_ws, sources):
    for run_id, run_debate, table, frame in run_frames(demo_ws):
        where = f"run {run_id} table {table}"
        for column in frame.columns:
            if IDENTITY_NAME.search(column) or column.endswith("_pid"):
                values = frame[column].dropna().astype(str)
                assert values.map(lambda v: bool(PSEUDONYM.match(v))).all(), f"{where}: {column} holds raw ids"
        debates = frame["debate_id"] if "debate_id" in frame.columns else pd.Series(run_debate, index=frame.index)
        for pid_column in [c for c in frame.columns if c.endswith("_pid")]:
            raw = pd.Series(
                [sources.get(d, {}).get("back", {}).get(p) for d, p in zip(debates, frame[pid_column], strict=True)],
                index=frame.index,
            )
            assert columns_echoing(frame, raw, skip={pid_column}) == [], where


def test_pseudonyms_do_not_link_debates(demo_ws, sources):
    frames = corpus_frames(demo_ws)
    per_debate = frames["participants"].groupby("debate_id")["participant_pid"].apply(set)
    debates = list(per_debate.index)
    for i, a in enumerate(debates):
        for b in debates[i + 1 :]:
            shared_raw = sources[a]["participants"] & sources[b]["participants"]
            assert shared_raw, "the demo debates share raw ids (0, 1, 2...): the check below is meaningful"
            assert not per_debate[a] & per_debate[b], (a, b)


def test_the_key_is_private_and_appears_nowhere(demo_ws):
    if not os.environ.get(KEY_ENV):
        mode = stat.S_IMODE(demo_ws.key_path.stat().st_mode)
        assert mode == 0o600, oct(mode)
    key_hex = load_key(demo_ws.key_path).hex()
    key_text = demo_ws.key_path.read_text(encoding="ascii").strip() if demo_ws.key_path.exists() else key_hex
    for path in (
        [demo_ws.corpus_path, *demo_ws.runs_dir.glob("*")] if demo_ws.runs_dir.exists() else [demo_ws.corpus_path]
    ):
        data = path.read_bytes()
        assert key_text.encode() not in data and bytes.fromhex(key_hex) not in data, path
    result = CliRunner().invoke(app, ["info", "--json", "--workspace", str(demo_ws.root)])
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert key_text not in result.stdout and key_hex not in result.stdout
    names = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if IDENTITY_NAME.search(str(k)):
                    names.append((k, v))
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(info)
    raw_like = [(k, v) for k, v in names if isinstance(v, str | int) and not PSEUDONYM.match(str(v))]
    assert raw_like == [], "dembias info --json names participants by raw id"


def test_the_corpus_stores_no_raw_id_column_even_in_sql(demo_ws):
    """A direct check of the schema: participant identity appears only as *_pid columns."""
    con = duckdb.connect(str(demo_ws.corpus_path), read_only=True)
    try:
        columns = con.execute("SELECT table_name, column_name FROM duckdb_columns()").fetchall()
    finally:
        con.close()
    identity = [(t, c) for t, c in columns if IDENTITY_NAME.search(c) or c.endswith("_pid")]
    assert sorted(identity) == [
        ("contributions", "author_pid"),
        ("participants", "participant_pid"),
        ("votes", "participant_pid"),
    ]
