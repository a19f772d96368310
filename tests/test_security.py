"""What a second viewer, a bad file, a crash or another local user must not be able to break, read or run.

Each test reproduces one finding of the security review (issue 20) on a small hand-made workspace; the
browser-level ones live in tests/test_security_browser.py.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import os
import re
import tempfile
from pathlib import Path

import pandas as pd
import plotly

# --------------------------------------------------------------------------------------------------
# the map component's plotly.js


def test_plotly_js_is_served_from_the_installed_package_never_a_shared_temp_folder(tmp_path, monkeypatch):
    """A local user who creates the old predictable temp folder first cannot plant a script or a symlink."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    real = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    planted = tmp_path / f"dembias-plotly-{plotly.__version__}-{os.getuid()}"
    planted.mkdir()
    evil = b"alert(1);//" + b" " * (len(real) - len(b"alert(1);//"))  # same size as the real file
    (planted / "plotly.min.js").write_bytes(evil)
    victim = tmp_path / "victim"
    victim.write_text("private")
    victim.chmod(0o600)
    (planted / f".plotly.min.js.{os.getpid()}").symlink_to(victim)

    import pages.map_chart as map_chart

    map_chart = importlib.reload(map_chart)
    served = map_chart.assets_folder() / "plotly.min.js"
    assert hashlib.sha256(served.read_bytes()).digest() == hashlib.sha256(real).digest()
    assert not str(map_chart.assets_folder()).startswith(str(tmp_path))
    assert victim.read_text() == "private"  # the symlink was not followed
    assert (planted / "plotly.min.js").read_bytes() == evil  # nothing of ours was written there


def test_a_tampered_plotly_js_is_refused(tmp_path, monkeypatch):
    """The served file must match the hash pip recorded for it: a changed file stops the page."""
    import pages.map_chart as map_chart

    copy = tmp_path / "package_data" / "plotly.min.js"
    copy.parent.mkdir()
    copy.write_bytes(b"alert(1)")
    monkeypatch.setattr(map_chart, "PLOTLY_JS", copy)
    monkeypatch.setattr(map_chart, "_recorded_sha256", lambda: "O24V1F27f8pb0glCkelh3cVHLNiHAJ5gCaVtq2aNch8")
    try:
        map_chart.assets_folder()
    except RuntimeError as exc:
        assert "differs" in str(exc)
    else:
        raise AssertionError("a tampered plotly.min.js was accepted")
    link = tmp_path / "package_data" / "link.js"
    link.symlink_to(copy)
    monkeypatch.setattr(map_chart, "PLOTLY_JS", link)
    try:
        map_chart.assets_folder()
    except RuntimeError as exc:
        assert "not a regular file" in str(exc)
    else:
        raise AssertionError("a symlinked plotly.min.js was accepted")


# --------------------------------------------------------------------------------------------------
# spreadsheet formulas: one guard, lookalikes and line breaks included


def test_formula_guard_covers_lookalikes_invisible_prefixes_and_bare_carriage_returns():
    from dembias.export import neutralise_cell, to_csv_bytes

    dangerous = [
        "＋1+1",
        "＝1+1",
        "－2+3",
        "＠SUM(A1)",
        "﹦1",
        "﹢1",
        "\u22122+3",
        "\u200b=1",
        "\ufeff=1",
        " =1",
        "\n=1",
    ]
    assert [neutralise_cell(v)[:1] for v in dangerous] == ["'"] * len(dangerous)
    assert [neutralise_cell(v) for v in ("plain", "a=b", "1+1", "", "ＡＢ")] == ["plain", "a=b", "1+1", "", "ＡＢ"]
    assert neutralise_cell(3) == 3 and neutralise_cell(None) is None
    # a bare CR would end the row in a spreadsheet, so that the next line starts a cell of its own
    frame = pd.DataFrame({"note": ['ok\r=HYPERLINK("http://127.0.0.2")', "fine"], "n": [1, 2]})
    text = to_csv_bytes(frame).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text.replace("\r\n", "\n")), lineterminator="\n"))
    assert rows == [["note", "n"], ['ok\n=HYPERLINK("http://127.0.0.2")', "1"], ["fine", "2"]]
    assert all(not line.startswith("=") for line in re.split(r"\r(?!\n)", text))
    assert "\r" not in text


def test_the_cli_per_contribution_csv_uses_the_same_guard(tmp_path):
    from dembias.cli import pluralism_commands

    frame = pd.DataFrame({"contribution_id": ["＋1", "\u2212cmd", "ok"], "text": ["a\rb", "=x", "y"]})
    path = tmp_path / "per.csv"
    pluralism_commands.write_per_contribution(path, frame)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[1:] == [["'＋1", "a\nb"], ["'\u2212cmd", "'=x"], ["ok", "y"]]


def test_streamlit_client_options_hide_the_toolbar_export_and_error_details():
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True
    assert config["client"]["showErrorDetails"] == "none"
    from pages.shared import CLIENT_OPTIONS

    assert CLIENT_OPTIONS == {"client.disableDataExport": True, "client.showErrorDetails": "none"}


# --------------------------------------------------------------------------------------------------
# concurrent viewers


def _tiny_ws(root: Path):
    from dembias.ingest import ingest_polis
    from dembias.store import Workspace
    from tests.helpers import polis_folder

    ws = Workspace(root / "ws")
    ingest_polis(ws, polis_folder(root / "polis"), debate_id="testville")
    return ws


def test_concurrent_readers_attach_runs_without_colliding(tmp_path):
    """20 threads (20 viewers of one dashboard process) read the same runs at once: every read succeeds."""
    import threading

    from dembias import queries
    from dembias.store import write_run

    ws = _tiny_ws(tmp_path)
    assignments = pd.DataFrame(
        {"contribution_id": ["0", "1", "2"], "cluster": [0, 1, 1], "x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 0.5]}
    )
    clusters = pd.DataFrame({"cluster": [0, 1], "label": ["bikes", "taxes"]})
    run = write_run(
        ws, stage="mapping", debate_id="testville", tables={"assignments": assignments, "clusters": clusters}
    )
    errors: list[str] = []
    results: list[int] = []
    start = threading.Barrier(20)

    def viewer() -> None:
        start.wait()
        for _ in range(5):
            try:
                points = queries.map_points(ws, debate_id="testville", mapping_run=run.run_id)
                detail = queries.contributions_detail(
                    ws, debate_id="testville", mapping_run=run.run_id, contribution_ids=["0", "1"]
                )
                results.append(len(points) + len(detail))
            except Exception as exc:  # every failure is the finding
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=viewer) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [5] * 100


# --------------------------------------------------------------------------------------------------
# temporary copies of the corpus


def test_copies_left_by_a_killed_writer_are_removed_by_the_next_one(tmp_path):
    from dembias.ingest import ingest_polis
    from tests.helpers import polis_folder

    ws = _tiny_ws(tmp_path)
    stale = [ws.root / ".corpus-deadbeef.tmp.duckdb", ws.root / ".corpus-deadbeef.tmp.duckdb.wal"]
    for path in stale:
        path.write_bytes(ws.corpus_path.read_bytes())  # a full, unredacted copy, as a SIGKILL leaves it
    ingest_polis(ws, polis_folder(tmp_path / "polis2"), debate_id="other")
    assert [p for p in stale if p.exists()] == []
    assert sorted(p.name for p in ws.root.iterdir() if ".tmp." in p.name) == []
