"""User text stays inert in the browser: XSS filter-evasion payloads through every page of the dashboard.

The payload workspace (tests/payload_ws.py) carries ~40 OWASP payloads in the debate title, contributions,
summary units, reformulations, model names, cluster labels/keywords and annotation notes. Headless
Chromium visits every page (hovering the opinion map, opening the expanders and the needs-review list)
while recording dialogs, console messages and every network request: no dialog may open, no payload may
set ``window.__xss``, and no request may leave the app's own origin.
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import quote

import pytest

from dembias.read import queries
from dembias.read.export import FORMULA_PREFIXES, to_csv_bytes
from dembias.workspace.annotations import list_annotations
from dembias.workspace.runs import latest_run
from tests.browser import MAP_CHART, PLOTLY_CHARTS, chromium_page, needs_chromium, screenshot, serve_dashboard
from tests.payload_ws import DEBATE, EVIL, PAYLOADS, build_payload_workspace

PAGES = [
    ("", "Scorecard"),
    ("map", "Opinion map"),
    ("survival", "Cluster survival"),
    ("minorities", "Marginalized minorities"),
    ("left_out", "What it left out"),
    ("fidelity", "Fidelity of rewrites"),
    ("compare", "Compare"),
    ("across", "Across debates and models"),
    ("annotations", "Annotations"),
    ("rescoring", "Rescoring"),
]


@pytest.fixture(scope="module")
def payload_ws(tmp_path_factory):
    return build_payload_workspace(tmp_path_factory.mktemp("xss"))


def _hover_over(page, plot) -> None:
    """Sweep the mouse over a plotly chart so hover labels of many points are drawn."""
    box = plot.bounding_box()
    if not box:
        return
    for fy in (0.2, 0.35, 0.5, 0.65, 0.8):
        for fx in (0.1, 0.25, 0.4, 0.55, 0.7, 0.85):
            page.mouse.move(box["x"] + box["width"] * fx, box["y"] + box["height"] * fy, steps=2)
            page.wait_for_timeout(40)


def _executed(page) -> list[object]:
    """Markers a payload would have left in any frame."""
    found = []
    for frame in page.frames:
        try:
            value = frame.evaluate("() => window.__xss")
        except Exception:  # a detached frame has nothing to report
            continue
        if value is not None:
            found.append(value)
    return found


@pytest.mark.slow
@pytest.mark.browser
@needs_chromium
def test_payloads_stay_inert_on_every_page(payload_ws):
    dialogs: list[str] = []
    requests: list[str] = []
    console: list[str] = []
    executed: list[object] = []
    with serve_dashboard(payload_ws.root) as base, chromium_page() as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
        for path, heading in PAGES:
            page.goto(f"{base}/{path}?debate={quote(DEBATE, safe='')}", wait_until="networkidle")
            page.get_by_text(heading).first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            if path == "map":
                page.locator(MAP_CHART).locator(".legendtitletext").wait_for(timeout=30_000)
                for plot in page.locator(PLOTLY_CHARTS).all():
                    _hover_over(page, plot)
            if path in ("minorities", "fidelity"):
                for summary in page.locator("[data-testid='stExpander'] summary").all():
                    summary.click()
                    page.wait_for_timeout(300)
            page.wait_for_timeout(500)
            executed += _executed(page)
            screenshot(page, f"xss-{path or 'overview'}")
        # payload text is visible as text somewhere (so the pages really showed it)
        page.goto(f"{base}/fidelity?debate={quote(DEBATE, safe='')}", wait_until="networkidle")
        page.get_by_text("Needs review").first.wait_for(timeout=60_000)
        page.get_by_text("window.__xss=", exact=False).first.wait_for(timeout=30_000)
        executed += _executed(page)

    origin = re.escape(base)
    # blob: URLs of the app's own origin are made in the page (the map component's inline module), not fetched
    foreign = [u for u in requests if not re.match(rf"^(blob:)?{origin}(/|$)", u) and not u.startswith("data:")]
    print(f"payloads tried: {len(PAYLOADS)}; executed: {len(executed)}; dialogs: {len(dialogs)}")
    print(f"requests: {len(requests)}; foreign: {len(foreign)}")
    assert not dialogs, dialogs
    assert not executed, executed
    assert not foreign, sorted(set(foreign))[:20]
    assert not any(EVIL in line for line in console), [line for line in console if EVIL in line]


def test_the_workspace_really_carries_the_payloads(payload_ws):
    """Guards the browser test: every field it checks holds payloads (else it would pass vacuously)."""
    debates = queries.debates_table(payload_ws)
    assert "<script>" in debates.loc[0, "title"]
    mapping = latest_run(payload_ws, stage="mapping", debate_id=DEBATE)
    clusters = queries.run_table(payload_ws, mapping.run_id, "clusters")
    words = {w for kws in clusters["keywords"] for w in kws}
    assert {"script", "onerror", "iframe"} & words
    fidelity = latest_run(payload_ws, stage="fidelity", debate_id=DEBATE)
    review = queries.review_list(payload_ws, fidelity_run=fidelity.run_id, limit=100)
    assert review["output_text"].str.contains("<").any()
    assert review["source_text"].str.contains("onerror|<script>|<svg", regex=True).any()
    notes = list_annotations(payload_ws.state_path, debate_id=DEBATE)
    assert notes["note"].str.contains("<script>").any()


def test_csv_exports_neutralise_formulas(payload_ws):
    """Every download of payload text opens in a spreadsheet without running a formula."""
    fidelity = latest_run(payload_ws, stage="fidelity", debate_id=DEBATE)
    frames = {
        "review": queries.review_list(payload_ws, fidelity_run=fidelity.run_id, limit=100),
        "annotations": list_annotations(payload_ws.state_path),
        "debates": queries.debates_table(payload_ws),
    }
    import pandas as pd

    frames["payloads"] = pd.DataFrame({"text": [*PAYLOADS, "=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1"]})
    for name, frame in frames.items():
        text = to_csv_bytes(frame).decode("utf-8-sig")
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                assert not cell.startswith(FORMULA_PREFIXES), (name, cell)
    exported = to_csv_bytes(frames["payloads"]).decode("utf-8-sig")
    assert "'=HYPERLINK(" in exported and "'=1+1" in exported
