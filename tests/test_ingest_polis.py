"""Polis ingestion on the real demo exports: counts checked against the raw files, computed independently."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from dembias.ingest import ingest_polis
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from tests.helpers import polis_folder

SOURCES = Path(__file__).resolve().parent.parent / "data" / "sources" / "polis"


def raw_counts(folder: Path) -> dict[str, object]:
    """Counts computed with the csv module alone, as a check on the reader."""
    with open(folder / "comments.csv", newline="", encoding="utf-8") as handle:
        comments = list(csv.DictReader(handle))
    with open(folder / "participants-votes.csv", newline="", encoding="utf-8") as handle:
        participants = list(csv.DictReader(handle))
    counts: dict[str, object] = {
        "n_contributions": len(comments),
        "n_accepted": sum(c["moderated"] == "1" for c in comments),
        "n_rejected": sum(c["moderated"] == "-1" for c in comments),
        "groups": Counter(p["group-id"] for p in participants if p["group-id"] != ""),
    }
    votes_path = folder / "votes.csv"
    last: dict[tuple[str, str], tuple[int, int]] = {}
    voters: set[str] = set()
    if votes_path.exists():
        with open(votes_path, newline="", encoding="utf-8") as handle:
            for i, row in enumerate(csv.DictReader(handle)):
                key = (row["comment-id"], row["voter-id"])
                voters.add(row["voter-id"])
                stamp = (int(row["timestamp"]), i)
                if key not in last or stamp > last[key]:
                    last[key] = stamp
        counts["vote_rows"] = i + 1
        counts["n_votes"] = len(last)
    else:
        comment_ids = [k for k in participants[0] if k.isdigit()]
        counts["n_votes"] = sum(p[c] != "" for p in participants for c in comment_ids)
    counts["n_participants"] = len({p["participant"] for p in participants} | voters)
    return counts


@pytest.fixture(scope="module")
def polis_ws(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("polis"))
    for folder in sorted(SOURCES.iterdir()):
        if folder.is_dir():
            ingest_polis(ws, folder)
    return ws


@pytest.mark.parametrize(
    "name",
    [
        "american-assembly.bowling-green",
        "austria-climate.5twd2jsnkf.2022-08-08",
        "scoop-hivemind.freshwater",
        "scoop-hivemind.ubi",
        "vtaiwan.uberx",
    ],
)
def test_counts_match_the_raw_files(polis_ws, name):
    expected = raw_counts(SOURCES / name)
    con = open_corpus(polis_ws)
    row = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE moderation = 1), count(*) FILTER (WHERE is_rejected) "
        "FROM contributions WHERE debate_id = ?",
        [name],
    ).fetchall()[0]
    assert row == (expected["n_contributions"], expected["n_accepted"], expected["n_rejected"])
    n_votes = con.execute("SELECT count(*) FROM votes WHERE debate_id = ?", [name]).fetchall()[0][0]
    assert n_votes == expected["n_votes"]
    n_participants = con.execute("SELECT count(*) FROM participants WHERE debate_id = ?", [name]).fetchall()[0][0]
    assert n_participants == expected["n_participants"]
    groups = dict(
        con.execute(
            "SELECT published_group::VARCHAR, count(*) FROM participants WHERE debate_id = ? "
            "AND published_group IS NOT NULL GROUP BY 1",
            [name],
        ).fetchall()
    )
    assert groups == dict(expected["groups"])
    con.close()


def test_the_figures_the_issue_names(polis_ws):
    con = open_corpus(polis_ws)

    def one(sql, debate):
        return con.execute(sql, [debate]).fetchall()[0]

    bg = "american-assembly.bowling-green"
    assert one(
        "SELECT count(*), count(*) FILTER (WHERE moderation = 1) FROM contributions WHERE debate_id = ?", bg
    ) == (
        896,
        607,
    )
    kr = "austria-climate.5twd2jsnkf.2022-08-08"
    assert one("SELECT count(*) FROM contributions WHERE debate_id = ?", kr) == (522,)
    assert one("SELECT count(*) FROM participants WHERE debate_id = ?", kr) == (1116,)
    sizes = sorted(
        r[0]
        for r in con.execute(
            "SELECT count(*) FROM participants WHERE debate_id = ? AND published_group IS NOT NULL "
            "GROUP BY published_group",
            [kr],
        ).fetchall()
    )
    assert sizes == [139, 761]
    # 61,936 vote rows in votes.csv; the last vote of each voter on each comment counts
    assert raw_counts(SOURCES / kr)["vote_rows"] == 61936
    assert one("SELECT count(*) FROM votes WHERE debate_id = ?", kr) == (61384,)
    con.close()


def test_raw_author_ids_never_stored(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ingest_polis(ws, polis_folder(tmp_path / "export"), debate_id="t")
    con = open_corpus(ws)
    authors = {r[0] for r in con.execute("SELECT author_pid FROM contributions").fetchall()}
    voters = {r[0] for r in con.execute("SELECT participant_pid FROM votes").fetchall()}
    assert authors and all(a.startswith("p_") and len(a) == 22 for a in authors)
    assert voters <= {r[0] for r in con.execute("SELECT participant_pid FROM participants").fetchall()}
    assert not ({"10", "11"} & (authors | voters))
    # the author of comment 0 is voter 10: the same pseudonym links them within the debate
    author0 = con.execute("SELECT author_pid FROM contributions WHERE contribution_id = '0'").fetchall()[0][0]
    assert author0 in voters
    con.close()
    assert (ws.root / "pseudonym.key").stat().st_mode & 0o777 == 0o600


def test_last_vote_wins_and_rejected_are_flagged(tmp_path):
    ws = Workspace(tmp_path / "ws")
    counts = ingest_polis(ws, polis_folder(tmp_path / "export"), debate_id="t", language="en")
    assert counts == {"contributions": 3, "vote_rows": 5, "votes": 4}
    con = open_corpus(ws)
    votes = con.execute("SELECT contribution_id, vote FROM votes ORDER BY contribution_id, voted_at").fetchall()
    assert sorted(votes) == [("0", 1), ("0", 1), ("1", -1), ("1", 0)]
    rows = con.execute(
        "SELECT contribution_id, is_rejected, n_agree, n_disagree, n_pass, language FROM contributions ORDER BY 1"
    ).fetchall()
    assert rows == [("0", False, 2, 0, 0, "en"), ("1", False, 0, 2, 1, "en"), ("2", True, 1, 1, None, "en")]
    title, question, url = con.execute("SELECT title, question, source_url FROM debates").fetchall()[0]
    assert (title, question, url) == ("Mobility in Testville", "What should change, and why?", "https://pol.is/example")
    con.close()


def test_votes_from_the_participant_matrix_when_votes_csv_is_absent(tmp_path):
    ws = Workspace(tmp_path / "ws")
    ingest_polis(ws, polis_folder(tmp_path / "export", votes=None), debate_id="t", language="en")
    con = open_corpus(ws)
    assert sorted(con.execute("SELECT contribution_id, vote FROM votes").fetchall()) == [
        ("0", 1),
        ("0", 1),
        ("1", -1),
        ("1", 0),
    ]
    con.close()
