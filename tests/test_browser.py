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


def test_chinese_renders_with_the_served_cjk_font(demo_ws):
    """vtaiwan-uberx's Chinese title is drawn with the CJK web font the app serves itself, not as empty boxes."""
    with serve_dashboard(demo_ws.root) as base, chromium_page(1440, 900) as page:
        fonts = []
        page.on("response", lambda r: fonts.append((r.url, r.status)) if "/app/static/fonts/" in r.url else None)
        page.goto(f"{base}/?debate=vtaiwan-uberx", wait_until="networkidle")
        page.get_by_text("Scorecard").first.wait_for(timeout=60_000)
        page.wait_for_function(
            "Array.from(document.fonts).some(f => f.family === 'dembias-cjk' && f.status === 'loaded')",
            timeout=30_000,
        )
        assert fonts and all(url.startswith(base) and status == 200 for url, status in fonts)
        family = page.evaluate(
            "getComputedStyle(document.querySelector('[data-testid=stMarkdownContainer]')).fontFamily"
        )
        assert "dembias-cjk" in family
        screenshot(page, "chinese-vtaiwan")
