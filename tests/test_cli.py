"""The command line: `dembias demo`, `dembias info --json` and clean errors (exit code 2, one line)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import polis_folder

DEMBIAS = [sys.executable, "-m", "dembias"]


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([*DEMBIAS, *args], capture_output=True, text=True, check=check, timeout=300)


def test_info_json_has_the_documented_names(demo_ws):
    info = json.loads(run("info", "--json", "--workspace", str(demo_ws.root)).stdout)
    debates = {d["debate_id"]: d for d in info["debates"]}
    assert set(debates) == {
        "bowling-green",
        "klimarat-produktion-konsum",
        "nz-freshwater",
        "nz-ubi",
        "vtaiwan-uberx",
        "makeorg-fr",
        "makeorg-g9",
    }
    for d in debates.values():
        assert {
            "debate_id",
            "title",
            "language",
            "n_contributions",
            "n_accepted",
            "n_participants",
            "n_votes",
            "n_groups",
        } <= set(d)
    assert (debates["bowling-green"]["n_contributions"], debates["bowling-green"]["n_accepted"]) == (896, 607)
    assert debates["klimarat-produktion-konsum"]["n_participants"] == 1116
    assert debates["klimarat-produktion-konsum"]["n_votes"] == 61384
    assert isinstance(info["runs"], list)
    for r in info["runs"]:
        assert {"run_id", "stage", "created_at", "manifest"} <= set(r)


def test_demo_refuses_to_overwrite_and_if_missing_is_a_no_op(demo_ws):
    refused = run("demo", "--workspace", str(demo_ws.root), check=False)
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert run("demo", "--if-missing", "--workspace", str(demo_ws.root)).returncode == 0


def test_ingest_error_is_one_clear_line(tmp_path):
    export = polis_folder(tmp_path / "x", votes="timestamp,datetime,comment-id,voter-id,vote\n1,x,0,10,5\n")
    result = run("ingest", "polis", str(export), "--workspace", str(tmp_path / "ws"), check=False)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "votes.csv, row 2, field 'vote'" in result.stderr
    assert not (tmp_path / "ws" / "corpus.duckdb").exists()
