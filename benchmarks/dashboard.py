"""Dashboard latency at scale: page switches and filter changes on a large generated debate, in headless Chromium.

    .venv/bin/python benchmarks/dashboard.py --n 100000                      # build the workspace first
    .venv/bin/python benchmarks/dashboard.py --workspace /tmp/pipe100k/ws    # reuse one (benchmarks/pipeline.py)

Serves the dashboard (``tests/browser.py``), then times each action from the click until the new view
shows (the page's own text; for a filter, the URL the script sets; on the opinion map, the chart's legend
of the colouring) and Streamlit is idle (the app root's ``data-test-script-state`` at ``notRunning`` and
the status widget ``[data-testid='stStatusWidget']`` gone). Actions: page switches overview -> map ->
survival -> minorities -> what it left out -> fidelity -> overview, and filter changes (the map's "Colour by", the
minorities' "Break down by" country or language, the fidelity page's "Distribution by"). Prints median
and p95 per action over ``--reps`` repetitions, and how many runs the mutation observer did not see
(the new view showed anyway: a run too quick for its batch of mutations).
Targets at 100k contributions: p95 page switch < 1.5 s, filter change < 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import tests.fakes  # noqa: E402, F401  (registers the `fake:16` embedder spec used by --fake)
from tests.browser import MAP_CHART, chromium_page, serve_dashboard  # noqa: E402

PAGE_SWITCH_TARGET = 1.5
FILTER_TARGET = 0.5
# nav link -> (heading or text that only the new page shows)
PAGES = [
    ("Opinion map", re.compile(r"^Selected contributions \(")),
    ("Cluster survival", re.compile(r"^Representation ratio per cluster$")),
    ("Minorities", re.compile(r"^Marginalized minorities$")),
    ("What it left out", re.compile(r"^The contributions$")),
    ("Fidelity", re.compile(r"^Fidelity of rewrites and translations$")),
    ("Overview", re.compile(r"^Scorecard — ")),
]
# filter changes timed: (index in PAGES, name, URL key, the two values alternated)
FILTERS = [
    (0, "map colour-by", "color", ("language", "cluster")),
    (2, "minorities break-down by", "by", ("language", "country")),
    (4, "fidelity distribution by", "fby", ("country", "language_pair")),
]
# Streamlit marks the app root with its script state (initial | rerunRequested | running | notRunning);
# the observer counts a run as seen once that state changes after the action (a diagnostic only).
WATCH = """() => {
  window.__seen = false;
  if (window.__obs) window.__obs.disconnect();
  const check = (records) => {
    const a = document.querySelector("[data-testid='stApp']");
    // a state change counts even when it went running -> notRunning within one batch of mutations
    if (records.some(r => r.type === 'attributes' && r.attributeName === 'data-test-script-state')
        || (a && a.getAttribute('data-test-script-state') !== 'notRunning')
        || document.querySelector("[data-testid='stStatusWidget']")) window.__seen = true;
  };
  window.__obs = new MutationObserver(check);
  window.__obs.observe(document.body, {childList: true, subtree: true, attributes: true,
                                       attributeFilter: ['data-test-script-state']});
}"""
IDLE = """() => {
  const a = document.querySelector("[data-testid='stApp']");
  const state = a ? a.getAttribute('data-test-script-state') : 'initial';
  const widget = document.querySelector("[data-testid='stStatusWidget']");
  return state === 'notRunning' && !widget;
}"""


def timed(page: Any, action: Any, ready: Any) -> tuple[float, bool]:
    """Seconds from ``action()`` until ``ready()`` returns and Streamlit is idle; and whether the observer saw a run.

    ``ready()`` waits for something only the new view shows (a page's own text, the URL the script sets,
    the map's new legend), so once it returns the action's run has started, seen or not.
    """
    page.evaluate(WATCH)
    started = time.perf_counter()
    action()
    ready()
    seen = bool(page.evaluate("window.__seen"))
    page.wait_for_function(IDLE, polling=20, timeout=120_000)
    return time.perf_counter() - started, seen


def map_drawn(page: Any, colour: str = "cluster") -> None:
    """Wait until the opinion map's chart has no redraw pending and its legend carries ``colour``'s title."""
    legend = page.locator(f"{MAP_CHART} .legendtitletext")
    legend.filter(has_text=re.compile(f"^{colour.replace('_', ' ')}$")).first.wait_for()


def shown(page: Any, link: str, key: re.Pattern[str]) -> None:
    """Wait for the text only page ``link`` shows, and on the opinion map for its chart."""
    page.get_by_text(key).first.wait_for()
    if link == "Opinion map":
        map_drawn(page, page.evaluate("new URLSearchParams(location.search).get('color') || 'cluster'"))


def goto(page: Any, link: str, key: re.Pattern[str]) -> float:
    """Switch page (untimed use: warming up, getting to a filter)."""
    return timed(page, lambda: page.get_by_role("link", name=link).click(), lambda: shown(page, link, key))[0]


def option_label(value: str) -> re.Pattern[str]:
    """A radio option as the page labels it: the raw value or its human name ("language_pair" -> "Language pair")."""
    return re.compile(f"^({re.escape(value)}|{re.escape(value.replace('_', ' '))})$", re.IGNORECASE)


def summarise(name: str, values: list[float], target: float) -> dict[str, Any]:
    """Median and p95 (nearest rank) of one action's timings."""
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {
        "action": name,
        "reps": len(values),
        "median_s": statistics.median(values),
        "p95_s": p95,
        "target_s": target,
        "ok": p95 < target,
    }


def bench_dashboard(workspace: Path, *, reps: int = 10) -> list[dict[str, Any]]:
    """Drive the dashboard on ``workspace``; returns one summary per action."""
    times: dict[str, list[float]] = {}
    unseen = 0
    with serve_dashboard(workspace, timeout=120) as base, chromium_page() as page:
        page.set_default_timeout(120_000)
        page.goto(base, wait_until="networkidle")
        page.get_by_text(re.compile("^Scorecard — ")).first.wait_for()
        # warm every page once (first visits fill Streamlit's caches), not timed
        for link, key in PAGES:
            goto(page, link, key)
        for _ in range(reps):
            previous = "Overview"
            for link, key in PAGES:
                seconds, seen = timed(
                    page,
                    lambda link=link: page.get_by_role("link", name=link).click(),
                    lambda link=link, key=key: shown(page, link, key),
                )
                unseen += not seen
                times.setdefault(f"switch {previous} -> {link}", []).append(seconds)
                previous = link
        # filter changes: one radio per page, flipped between two values; done when the URL carries the new value
        for page_index, name, key, values in FILTERS:
            goto(page, *PAGES[page_index])
            radio = page.locator("[data-testid='stMain'] [data-testid='stRadio']").first  # not the sidebar's
            for i in range(reps):
                option = values[i % 2]
                seconds, seen = timed(
                    page,
                    lambda option=option, radio=radio: radio.get_by_text(option_label(option)).first.click(),
                    lambda option=option, key=key, name=name: (
                        page.wait_for_url(re.compile(f"{key}={option}")),
                        map_drawn(page, option) if name.startswith("map") else None,
                    ),
                )
                unseen += not seen
                times.setdefault(f"filter {name}", []).append(seconds)
    results = [
        summarise(name, values, FILTER_TARGET if name.startswith("filter") else PAGE_SWITCH_TARGET)
        for name, values in times.items()
    ]
    switches = [v for name, values in times.items() if name.startswith("switch") for v in values]
    results.append(summarise("all page switches", switches, PAGE_SWITCH_TARGET))
    results.append({"action": "runs the observer missed (ready anyway)", "reps": unseen})
    return results


def print_results(results: list[dict[str, Any]]) -> None:
    """The latency table."""
    print(f"{'action':42} {'reps':>5} {'median s':>9} {'p95 s':>7} {'target':>7}")
    for r in results:
        if "median_s" not in r:
            print(f"{r['action']:42} {r['reps']:>5}")
            continue
        mark = "ok" if r["ok"] else "MISS"
        print(f"{r['action']:42} {r['reps']:>5} {r['median_s']:>9.2f} {r['p95_s']:>7.2f} {r['target_s']:>6.1f} {mark}")


def main(argv: list[str] | None = None) -> None:
    """Command line of the dashboard benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000, help="contributions of the generated debate")
    parser.add_argument("--workspace", type=Path, help="reuse this workspace (mapped and scored)")
    parser.add_argument("--dir", type=Path, help="where to build the workspace (default /tmp/dembias_pipeline_N)")
    parser.add_argument("--embedder", default="use-multilingual", help="embedder used when building")
    parser.add_argument(
        "--quick-build",
        action="store_true",
        help="build with a fake 16-d embedder, one seed and a 5,000-point UMAP sample (the map is not the point)",
    )
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    args = parser.parse_args(argv)
    workspace = args.workspace
    if workspace is None:
        from pipeline import run_pipeline

        folder = args.dir or Path(f"/tmp/dembias_pipeline_{args.n}")
        if args.quick_build:
            run_pipeline(args.n, folder, embedder_spec="fake:16", seeds=1, sample_threshold=5_000)
        else:
            run_pipeline(args.n, folder, embedder_spec=args.embedder)
        workspace = folder / "ws"
    results = bench_dashboard(workspace, reps=args.reps)
    print(f"dashboard on {workspace}")
    print_results(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    sys.exit(main())
