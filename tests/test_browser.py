"""End to end in a real browser: the served dashboard lists the demo debates (screenshots kept as artifacts)."""

from __future__ import annotations

import re

import pytest

from tests.browser import MAP_CHART, chromium_page, needs_chromium, screenshot, serve_dashboard
from tests.helpers import dropped_topics

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


def _grid_cells(page) -> list[str]:
    """The text of every data cell the dashboard's tables hold in the DOM (a null cell is drawn "None" on the
    canvas and left empty here, so an empty cell counts as one)."""
    return page.locator("[data-testid=stDataFrame] td[role=gridcell]").all_inner_texts()


def _settled(page) -> None:
    page.wait_for_load_state("networkidle")
    page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')", timeout=60_000)
    page.wait_for_timeout(1_500)


def test_a_link_to_an_unknown_debate_says_so(demo_ws):
    with serve_dashboard(demo_ws.root) as base, chromium_page(1280, 900) as page:
        page.goto(f"{base}/minorities?debate=no-such-debate&output=nope", wait_until="networkidle")
        page.get_by_text("The link names the debate 'no-such-debate'").wait_for(timeout=60_000)
        assert "which this workspace does not hold" in page.locator("[data-testid=stAlert]").first.inner_text()


def test_compare_a_and_b_survive_a_reload(demo_ws):
    from dembias.read import queries

    run = queries.run_options(demo_ws, stage="pluralism", debate_id="nz-ubi")[0].run_id
    ids = queries.scorecard(demo_ws, run)["output_id"].tolist()
    out_a, out_b = ids[-1], ids[-2]  # not the defaults (the sidebar's summary, then the first other one)
    with serve_dashboard(demo_ws.root) as base, chromium_page(1280, 900) as page:
        page.goto(f"{base}/compare?debate=nz-ubi&outa={out_a}&outb={out_b}", wait_until="networkidle")
        page.get_by_text("Finding.").first.wait_for(timeout=60_000)
        _settled(page)
        assert f"outa={out_a}" in page.url and f"outb={out_b}" in page.url
        page.reload(wait_until="networkidle")
        page.get_by_text("Finding.").first.wait_for(timeout=60_000)
        _settled(page)
        assert f"outa={out_a}" in page.url and f"outb={out_b}" in page.url
        assert "does not hold" not in page.content()
        screenshot(page, "compare-from-link")


PAGES = ("", "map", "survival", "minorities", "fidelity", "compare", "rescoring", "annotations", "interactions")


@pytest.mark.parametrize("debate", ["nz-ubi", "makeorg-g9"])
def test_every_page_opens_with_its_finding_and_no_table_shows_none(demo_ws, debate):
    with serve_dashboard(demo_ws.root) as base, chromium_page(1280, 900) as page:
        for name in PAGES:
            page.goto(f"{base}/{name}?debate={debate}", wait_until="networkidle")
            page.get_by_text("Finding.").first.wait_for(timeout=60_000)
            _settled(page)
            assert not page.locator("[data-testid=stException]").count(), name
            empty = [c for c in _grid_cells(page) if c.strip() in ("", "None", "nan", "NaN", "<NA>")]
            assert not empty, f"{name or 'overview'}: {len(empty)} empty or None cells"
            if debate == "nz-ubi" and name in ("", "minorities", "fidelity", "compare"):
                screenshot(page, f"issue17-{name or 'overview'}-1280")


def _idle(page) -> None:
    page.wait_for_function(
        "() => {const a = document.querySelector(\"[data-testid='stApp']\");"
        " return a && a.getAttribute('data-test-script-state') === 'notRunning'}",
        timeout=60_000,
    )


def test_left_out_view_opens_in_one_click_from_the_scorecard(demo_ws):
    with serve_dashboard(demo_ws.root) as base, chromium_page(1280, 900) as page:
        page.goto(f"{base}/?debate=nz-ubi", wait_until="networkidle")
        link = page.get_by_role("link", name=re.compile("summary left out: every contribution"))
        link.wait_for(timeout=60_000)
        link.click()
        page.get_by_role("heading", name="What it left out").wait_for(timeout=60_000)
        _idle(page)
        assert "/left_out" in page.url and "debate=nz-ubi" in page.url
        page.get_by_text("How each vote group voted on these").first.wait_for(timeout=30_000)
        screenshot(page, "left-out-nz-ubi")


def _topics(ws, debate_id: str) -> list[tuple[int, str]]:
    """(cluster, label) of every topic (noise left out) of the debate's latest map."""
    from dembias.workspace.runs import latest_run, read_run_table

    clusters = read_run_table(ws, latest_run(ws, stage="mapping", debate_id=debate_id).run_id, "clusters")
    return [(int(r.cluster), str(r.label)) for r in clusters.itertuples() if r.cluster >= 0]


def test_map_shows_dropped_topics_pins_a_click_and_links_to_what_was_left_out(demo_ws):
    with serve_dashboard(demo_ws.root) as base, chromium_page(1280, 900) as page:
        page.goto(f"{base}/map?debate=nz-ubi", wait_until="networkidle")
        page.locator(MAP_CHART).wait_for(timeout=60_000)
        _idle(page)
        # the topics and their labels come from the map run (their number and order depend on UMAP/HDBSCAN releases)
        clusters = _topics(demo_ws, "nz-ubi")
        n_dropped = len(dropped_topics(demo_ws, "nz-ubi"))  # the degenerate SmolLM2 summary, which the map shows
        assert n_dropped > 1
        dropped = f"dropped by the summary ({n_dropped} topics)"
        legend = page.locator(f"{MAP_CHART} .legendtext").all_text_contents()
        assert dropped in legend and "noise" in legend
        colours = page.evaluate(
            "() => Object.fromEntries(document.querySelector('div.dembias-map').data"
            ".map(t => [t.name, t.marker && t.marker.color]))"
        )
        assert colours[dropped] == "#D55E00" and colours["noise"] == "#C8C8C8"
        labels = page.locator(f"{MAP_CHART} .annotation-text").all_text_contents()
        for cluster, label in clusters:  # topic labels on the map, each under its own topic number
            shown = f"C{cluster} {label}"[:30]  # the map cuts a label at 36 characters
            assert any(t.startswith(shown) for t in labels), (shown, labels)
        # a click on a point (plotly's own event, as a click emits it) pins that contribution below the map
        page.evaluate(
            "() => document.querySelector('div.dembias-map').emit('plotly_click', {points: [{customdata: '27'}]})"
        )
        page.get_by_text("Pinned contribution #27").wait_for(timeout=30_000)
        _idle(page)
        assert "pin=27" in page.url
        screenshot(page, "map-nz-ubi-pinned")
        page.get_by_role("link", name=re.compile(rf"Read the {n_dropped} dropped topic")).click()
        page.get_by_role("heading", name="What it left out").wait_for(timeout=60_000)
        assert "/left_out" in page.url
