"""Security findings checked in a real browser (Debian's Chromium): exports of the dashboard's tables."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from dembias.ingest import ingest_polis
from dembias.workspace.annotations import Annotation, add_annotation
from dembias.workspace.folder import Workspace
from tests.browser import chromium_page, needs_chromium, serve_dashboard
from tests.helpers import polis_folder

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]

FORMULAS = ['=HYPERLINK("http://127.0.0.2/x","click")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "＋1+1", "ok\r=1+1"]


@pytest.fixture(scope="module")
def small_ws(tmp_path_factory) -> Workspace:
    """A three-comment debate whose annotations carry spreadsheet formulas."""
    root = tmp_path_factory.mktemp("export")
    ws = Workspace(root / "ws")
    ingest_polis(ws, polis_folder(root / "polis"), debate_id="testville")
    for i, note in enumerate(FORMULAS):
        add_annotation(ws.state_path, Annotation("testville", "contribution", str(i % 3), "other", note=note))
    return ws


def test_tables_offer_only_the_guarded_csv_export(small_ws):
    """Streamlit's toolbar "Download as CSV" is off, even when the server was started with it on (config.toml
    not read); the page's own download neutralises every formula."""
    with (
        serve_dashboard(small_ws.root, extra_args=("--client.disableDataExport", "false")) as base,
        chromium_page() as page,
    ):
        page.goto(f"{base}/annotations?debate=testville", wait_until="networkidle")
        page.get_by_text("5 annotation(s)").wait_for(timeout=30_000)
        grid = page.locator("[data-testid='stDataFrame']").first
        grid.hover()
        page.wait_for_timeout(500)
        toolbar = page.locator("[data-testid='stElementToolbar']").first
        toolbar.wait_for(state="attached", timeout=10_000)  # the toolbar itself is there (search, fullscreen)
        assert page.get_by_role("button", name="Download as CSV").count() == 0
        with page.expect_download() as caught:
            page.get_by_role("button", name="Download CSV").click()
        text = Path(caught.value.path()).read_bytes().decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert {len(row) for row in rows} == {len(rows[0])}  # no cell broke its row
    cells = [cell for row in rows for cell in row]
    notes = [c for c in cells if any(f.replace("\r", "\n") in c for f in FORMULAS)]
    assert len(notes) == len(FORMULAS)
    assert all(c.startswith("'") or c.startswith("ok") for c in notes)


def test_no_download_exists_on_the_server_before_a_viewer_past_the_gate_asks(small_ws, monkeypatch):
    """A CSV passed as bytes was stored at every rerun and served at /media/<id>.csv to anyone holding the
    URL, password or not; a deferred download exists only once a viewer who passed the gate clicks."""
    import hashlib
    import re

    monkeypatch.setenv("DEMBIAS_PASSWORD_SHA256", hashlib.sha256(b"pw").hexdigest())
    with serve_dashboard(small_ws.root) as base, chromium_page() as page:
        frames: list[bytes] = []
        page.on(
            "websocket",
            lambda ws: ws.on("framereceived", lambda f: frames.append(f if isinstance(f, bytes) else f.encode())),
        )
        page.goto(f"{base}/annotations?debate=testville", wait_until="networkidle")
        page.get_by_label("Password", exact=True).fill("pw")
        page.get_by_role("button", name="Enter").click()
        page.get_by_text("5 annotation(s)").wait_for(timeout=30_000)
        page.wait_for_timeout(1000)
        assert frames  # the websocket was recorded
        assert [m for f in frames for m in re.findall(rb"/media/[0-9a-f]+\.csv", f)] == []
        with page.expect_download() as caught, page.expect_request(re.compile(r"/media/.*\.csv")) as fetched:
            page.get_by_role("button", name="Download CSV").click()
        assert Path(caught.value.path()).read_bytes().startswith(b"\xef\xbb\xbfannotation_id")
        assert fetched.value.url.startswith(base)
