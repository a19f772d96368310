"""The demo end to end in Chromium: overview, pick a debate, lasso on the map, switch pages, reopen a shared URL.

Screenshots are kept in artifacts/screenshots/ (CI keeps them as artifacts).
"""

from __future__ import annotations

import re

import pytest

from tests.browser import MAP_CHART, chromium_page, needs_chromium, screenshot, serve_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]


def lasso(page, plot) -> None:
    """Draw a lasso over the middle of a plotly chart."""
    box = plot.bounding_box()
    cx, cy = box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5
    w, h = box["width"] * 0.3, box["height"] * 0.3
    page.mouse.move(cx - w, cy - h)
    page.mouse.down()
    for x, y in ((cx + w, cy - h), (cx + w, cy + h), (cx - w, cy + h), (cx - w, cy - h + 2)):
        page.mouse.move(x, y, steps=8)
    page.mouse.up()


def test_demo_end_to_end(demo_ws):
    with serve_dashboard(demo_ws.root) as base, chromium_page() as page:
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base, wait_until="networkidle")
        page.get_by_text("Debates (7)").wait_for(timeout=60_000)
        page.get_by_text("Scorecard — ").first.wait_for(timeout=60_000)
        screenshot(page, "e2e-1-overview")

        # pick a debate in the sidebar
        page.locator("section[data-testid='stSidebar'] [data-testid='stSelectbox']").first.click()
        page.get_by_role("option", name=re.compile("^nz-ubi")).click()
        page.get_by_text("Scorecard — nz-ubi").wait_for(timeout=60_000)

        # the opinion map, then a lasso selection
        page.get_by_role("link", name="Opinion map").click()
        page.get_by_text("Selected contributions (0)").wait_for(timeout=60_000)
        plot = page.locator(MAP_CHART)
        plot.locator(".legendtitletext").wait_for(timeout=30_000)
        # colour by language: the map is redrawn in place (no new WebGL canvas) and a zoom would survive it
        canvases = plot.locator("canvas").element_handles()
        page.locator("[data-testid='stMain'] [data-testid='stRadio']").first.get_by_text("language", exact=True).click()
        page.wait_for_url(re.compile("color=language"))
        plot.locator(".legendtitletext", has_text=re.compile("^language$")).wait_for(timeout=30_000)
        assert all(c.evaluate("c => c.isConnected") for c in canvases)
        page.wait_for_timeout(500)
        lasso(page, plot.locator(".nsewdrag").first)
        page.get_by_text(re.compile(r"Selected contributions \([1-9]\d*\)")).wait_for(timeout=60_000)
        screenshot(page, "e2e-2-map-lasso")

        # switch pages, then reopen the shared URL in a fresh page: same view
        page.get_by_role("link", name="Cluster survival").click()
        page.get_by_role("heading", name="Cluster survival").wait_for(timeout=60_000)
        page.wait_for_timeout(1000)
        shared_url = page.url
        assert "debate=nz-ubi" in shared_url and "/survival" in shared_url
        screenshot(page, "e2e-3-survival")
        page.goto("about:blank")
        page.goto(shared_url, wait_until="networkidle")
        page.get_by_role("heading", name="Cluster survival").wait_for(timeout=60_000)
        debate_box = page.locator("section[data-testid='stSidebar'] input[aria-label='Debate']")
        assert debate_box.input_value().startswith("nz-ubi — ")
        assert page.get_by_text("Page not found").count() == 0
        screenshot(page, "e2e-4-reopened")
        assert not errors, errors
