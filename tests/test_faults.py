"""Faults survived: a full disk, a read-only workspace, a corrupted run file.

Each gives a clear error, leaves no partial run visible, and the dashboard keeps serving the last good
runs. A worker killed mid-job is covered by tests/test_jobs.py
(``test_kill_9_mid_embedding_then_resume_gives_the_same_run``).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dembias.errors import StoreError
from dembias.ingest import ingest_outputs
from dembias.read import queries
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import latest_run, list_runs, open_run, read_run_table, write_run
from tests.helpers import tree_digest
from tests.payload_ws import DEBATE, build_payload_workspace

APP = str(Path(__file__).resolve().parent.parent / "app.py")


def _tiny_ws(tmp_path: Path) -> Workspace:
    ws = Workspace(tmp_path / "ws")
    write_run(ws, stage="mapping", debate_id="d", tables={"clusters": pd.DataFrame({"cluster": [0, 1]})})
    return ws


def _full_disk(file: Path | int) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(file))


def test_full_disk_mid_run_leaves_no_partial_run(tmp_path, monkeypatch):
    ws = _tiny_ws(tmp_path)
    before = tree_digest(ws.root)
    monkeypatch.setattr(os, "fsync", _full_disk)  # the run file is written, then flushing it fails
    with pytest.raises(OSError) as info:
        write_run(ws, stage="mapping", debate_id="d", tables={"clusters": pd.DataFrame({"cluster": [0]})})
    assert info.value.errno == errno.ENOSPC and "No space left on device" in str(info.value)
    assert tree_digest(ws.root) == before  # no temporary file left behind, no manifest
    assert len(list_runs(ws)) == 1
    assert read_run_table(ws, list_runs(ws)[0].run_id, "clusters")["cluster"].tolist() == [0, 1]


def test_full_disk_during_an_ingest_leaves_the_corpus_as_it_was(tmp_path, monkeypatch):
    from dembias.ingest import ingest_polis
    from tests.helpers import polis_folder

    ws = Workspace(tmp_path / "ws")
    ingest_polis(ws, polis_folder(tmp_path / "polis"), debate_id="d")
    before = tree_digest(ws.root)
    outputs = tmp_path / "o.jsonl"
    outputs.write_text(json.dumps({"debate_id": "d", "task": "summary", "model": "m", "text": "A. B."}) + "\n")
    monkeypatch.setattr(os, "fsync", _full_disk)
    with pytest.raises(OSError, match="No space left"):
        ingest_outputs(ws, outputs)
    assert tree_digest(ws.root) == before
    assert queries.outputs_table(ws, "d").empty


def test_read_only_workspace_gives_a_clear_error(tmp_path, monkeypatch):
    ws = _tiny_ws(tmp_path)
    before = tree_digest(ws.root)
    if os.geteuid() == 0:  # root ignores permission bits: simulate the refused rename instead

        def refuse(src, dst):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))

        monkeypatch.setattr(os, "replace", refuse)
        with pytest.raises(PermissionError, match="Permission denied"):
            write_run(ws, stage="mapping", debate_id="d", tables={"clusters": pd.DataFrame({"cluster": [0]})})
    else:
        ws.runs_dir.chmod(0o555)
        try:
            with pytest.raises(PermissionError, match="Permission denied"):
                write_run(ws, stage="mapping", debate_id="d", tables={"clusters": pd.DataFrame({"cluster": [0]})})
        finally:
            ws.runs_dir.chmod(0o755)
    assert tree_digest(ws.root) == before
    assert len(list_runs(ws)) == 1


def _corrupt_copy(ws: Workspace, good_run: str, *, stage: str) -> str:
    """A newer run of ``stage`` whose database file is garbage (its manifest is fine)."""
    manifest = json.loads((ws.runs_dir / f"{good_run}.json").read_text())
    bad_run = f"{stage}-29991231T235959-0badf00d"
    manifest.update(run_id=bad_run, created_at="2999-12-31T23:59:59")
    (ws.runs_dir / f"{bad_run}.json").write_text(json.dumps(manifest))
    (ws.runs_dir / f"{bad_run}.duckdb").write_bytes(os.urandom(64 * 1024))
    return bad_run


def test_corrupted_run_file_is_a_clear_store_error(tmp_path):
    ws = _tiny_ws(tmp_path)
    good = list_runs(ws)[0].run_id
    bad = _corrupt_copy(ws, good, stage="mapping")
    assert [r.run_id for r in list_runs(ws)] == [good, bad]  # listing reads manifests only
    for call in (
        lambda: open_run(ws, bad),
        lambda: read_run_table(ws, bad, "clusters"),
        lambda: queries.run_table(ws, bad, "clusters"),
        lambda: queries.n_mapped(ws, bad),
    ):
        with pytest.raises(StoreError, match=rf"{bad}\.duckdb.*cannot be read") as info:
            call()
        assert "corrupted" in str(info.value)
    assert read_run_table(ws, good, "clusters")["cluster"].tolist() == [0, 1]
    with pytest.raises(StoreError, match="cannot read table 'nope'"):
        read_run_table(ws, good, "nope")


@pytest.fixture(scope="module")
def payload_ws(tmp_path_factory):
    return build_payload_workspace(tmp_path_factory.mktemp("faults"))


@pytest.mark.slow
def test_dashboard_survives_a_corrupted_newest_run(payload_ws, tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(payload_ws.root, ws.root)
    good_map = latest_run(ws, stage="mapping", debate_id=DEBATE).run_id
    good_plural = latest_run(ws, stage="pluralism", debate_id=DEBATE).run_id
    bad_map = _corrupt_copy(ws, good_map, stage="mapping")
    bad_plural = _corrupt_copy(ws, good_plural, stage="pluralism")
    monkeypatch.setenv("DEMBIAS_WORKSPACE", str(ws.root))

    # the newest runs are the corrupted ones: every page shows a clear error, no traceback
    for page in (None, "pages/map.py", "pages/survival.py", "pages/minorities.py", "pages/compare.py"):
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        if page:
            at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        messages = " ".join(e.value for e in at.error)
        assert "cannot be read" in messages and "0badf00d" in messages, (page, messages)
        assert at.sidebar.selectbox[0].value == DEBATE  # the sidebar still serves, to pick another run

    # picking the last good runs under "Runs" in the sidebar: the pages work again
    for page in ("pages/map.py", "pages/survival.py", "pages/minorities.py"):
        at = AppTest.from_file(APP, default_timeout=120)
        at.run()
        at.switch_page(page).run()
        at.sidebar.selectbox(key="w_map").set_value(good_map).run()
        at.sidebar.selectbox(key="w_prun").set_value(good_plural).run()
        assert not at.exception, (page, at.exception)
        assert not at.error, (page, [e.value for e in at.error])
        assert at.title[0].value in ("Opinion map", "Cluster survival", "Marginalized minorities")
    assert bad_map in {r.run_id for r in list_runs(ws)} and bad_plural in {r.run_id for r in list_runs(ws)}
