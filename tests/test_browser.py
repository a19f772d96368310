"""End to end in a real browser: the served dashboard lists the demo debates (screenshots kept as artifacts)."""

from __future__ import annotations

import pytest

from tests.browser import chromium_page, needs_chromium, screenshot, serve_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]


def test_overview_in_chromium(demo_ws):
    with serve_dashboard(demo_ws.root) as base, chromium_page() as page:
        page.goto(base, wait_until="networkidle")
        page.get_by_text("Debates (7)").wait_for(timeout=30_000)
        for debate in ("bowling-green", "klimarat-produktion-konsum", "vtaiwan-uberx"):
            page.get_by_text(debate).first.wait_for(state="attached", timeout=10_000)  # grid cells sit under a canvas
        shot = screenshot(page, "overview")
    assert shot.stat().st_size > 10_000
