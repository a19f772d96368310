"""Load: concurrent headless browser sessions switching pages while a rescoring job runs.

    .venv/bin/python benchmarks/load.py -w /tmp/ws_demo --sessions 20 --switches 6 --json artifacts/load.json

Serves the dashboard on a free loopback port, queues a rescoring job (``dembias rescore --stage map``)
and starts ``dembias worker --drain`` beside it, then drives ``--sessions`` browser contexts (spread
over ``--browsers`` Chromium processes, all concurrent through Playwright's async API). Each session
opens the overview and switches pages ``--switches`` times through the navigation; the latency of an
interaction is from the click until the new page's heading is visible and Streamlit has stopped
running. Errors: page JavaScript errors, Streamlit exception boxes, timeouts; false errors (counted apart):
"cannot be shown/read" alerts, a run reported as corrupted while it is fine (issue 20's concurrent viewers). Bounded by ``--budget``
seconds. Prints (and writes with ``--json``) counts and p50/p95/max latencies.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser import CHROMIUM, CHROMIUM_ARGS, serve_dashboard  # noqa: E402

#: (navigation link, heading that proves the page rendered)
PAGES = [
    ("Opinion map", "Opinion map"),
    ("Cluster survival", "Cluster survival"),
    ("Minorities", "Marginalized minorities"),
    ("Fidelity", "Fidelity of rewrites"),
    ("Compare", "Compare"),
    ("Annotations", "Annotations"),
    ("Overview", "Scorecard —"),
]
DEBATES = ["bowling-green", "nz-ubi", "vtaiwan-uberx", "nz-freshwater", "klimarat-produktion-konsum"]


async def _settled(page, heading: str, timeout_ms: float) -> None:
    await page.get_by_role("heading", name=heading).first.wait_for(timeout=timeout_ms)
    # Streamlit shows a "running" status widget while the script runs; wait for it to go
    await page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout_ms
    )


async def _false_errors(page, index: int, link: str, out: dict) -> None:
    """Record a run shown as unreadable although it is fine (runs attached under one alias by two sessions
    at once: issue 20), counted apart as ``false_errors``."""
    for alert in await page.locator("[data-testid='stAlert']").all_inner_texts():
        if "cannot be shown" in alert or "cannot be read" in alert:
            out["false_errors"].append(f"session {index} on {link}: {alert[:160]}")


async def session(browser, base: str, index: int, switches: int, timeout_ms: float, out: dict) -> None:
    """One user: open the overview on a debate, then switch pages ``switches`` times."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    page.on("pageerror", lambda exc: out["errors"].append(f"session {index}: js error {exc}"))
    debate = DEBATES[index % len(DEBATES)]
    link = "first load"
    try:
        start = time.perf_counter()
        await page.goto(f"{base}/?debate={debate}", wait_until="domcontentloaded", timeout=timeout_ms)
        await _settled(page, "Scorecard —", timeout_ms)
        out["first_load_s"].append(time.perf_counter() - start)
        for k in range(switches):
            link, heading = PAGES[(index + k) % len(PAGES)]
            start = time.perf_counter()
            await page.get_by_role("link", name=link).first.click(timeout=timeout_ms)
            await _settled(page, heading, timeout_ms)
            out["latency_s"].append(time.perf_counter() - start)
            if await page.locator("[data-testid='stException']").count():
                out["errors"].append(f"session {index}: exception box on {link}")
            await _false_errors(page, index, link, out)
    except Exception as exc:  # a timeout or a crash is an error of this session, not of the benchmark
        first_line = str(exc).splitlines()[0][:200]
        out["errors"].append(f"session {index} ({debate}, {link}): {type(exc).__name__}: {first_line}")
        with contextlib.suppress(Exception):
            await _false_errors(page, index, link, out)
        with contextlib.suppress(Exception):  # what the page showed, to tell a slow page from a broken one
            running = await page.locator("[data-testid='stStatusWidget']").count()
            text = " ".join((await page.locator("[data-testid='stMain']").inner_text()).split())
            out["error_pages"].append(f"session {index}: {'still running; ' if running else ''}{text[:200]}")
    finally:
        await context.close()


async def drive(base: str, *, sessions: int, browsers: int, switches: int, timeout_ms: float, budget: float) -> dict:
    from playwright.async_api import async_playwright

    out: dict = {"errors": [], "false_errors": [], "error_pages": [], "latency_s": [], "first_load_s": []}
    async with async_playwright() as pw:
        launched = [
            await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            for _ in range(browsers)
        ]
        tasks = [session(launched[i % browsers], base, i, switches, timeout_ms, out) for i in range(sessions)]
        try:
            await asyncio.wait_for(asyncio.gather(*tasks), timeout=budget)
        except TimeoutError:
            out["errors"].append(f"budget of {budget:.0f}s exhausted")
        finally:
            for browser in launched:
                await browser.close()
    return out


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-w", "--workspace", required=True, help="a demo workspace (`dembias demo -w ...`)")
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--browsers", type=int, default=2, help="Chromium processes the sessions share")
    parser.add_argument("--switches", type=int, default=6, help="page switches per session")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds per interaction before an error")
    parser.add_argument("--budget", type=float, default=900.0, help="seconds for the whole run")
    parser.add_argument("--job-debate", default="nz-ubi", help="debate the background rescoring job re-maps")
    parser.add_argument("--no-job", action="store_true", help="no background job")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    ws = Path(args.workspace).resolve()
    dembias = str(Path(sys.executable).parent / "dembias")
    worker = None
    job = None
    with serve_dashboard(ws) as base:
        if not args.no_job:
            queued = subprocess.run(
                [dembias, "rescore", "-w", str(ws), "--stage", "map", "--debate", args.job_debate, "--json"],
                check=True,
                capture_output=True,
                text=True,
            )
            job = json.loads(queued.stdout)
            worker = subprocess.Popen(
                [dembias, "worker", "-w", str(ws), "--drain"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        start = time.perf_counter()
        out = asyncio.run(
            drive(
                base,
                sessions=args.sessions,
                browsers=args.browsers,
                switches=args.switches,
                timeout_ms=args.timeout * 1000,
                budget=args.budget,
            )
        )
        wall = time.perf_counter() - start
        job_state = None
        if worker is not None:
            job_running_at_end = worker.poll() is None
            worker.wait(timeout=args.budget)
            listed = subprocess.run(
                [dembias, "rescore", "-w", str(ws), "--list", "--json"], capture_output=True, text=True
            )
            job_state = {"queued": job, "still_running_when_sessions_ended": job_running_at_end}
            try:
                job_state["jobs"] = json.loads(listed.stdout)
            except ValueError:
                job_state["jobs"] = listed.stdout[-500:]
    lat = out["latency_s"]
    report = {
        "sessions": args.sessions,
        "browsers": args.browsers,
        "switches_per_session": args.switches,
        "interactions": len(lat),
        "errors": len(out["errors"]),
        "error_messages": out["errors"][:20],
        "false_errors": len(out["false_errors"]),
        "false_error_messages": out["false_errors"][:10],
        "error_pages": out["error_pages"][:10],
        "latency_p50_s": percentile(lat, 0.5),
        "latency_p95_s": percentile(lat, 0.95),
        "latency_max_s": max(lat) if lat else None,
        "latency_mean_s": statistics.fmean(lat) if lat else None,
        "first_load_p95_s": percentile(out["first_load_s"], 0.95),
        "wall_s": wall,
        "background_job": job_state,
    }
    text = json.dumps(report, indent=2, default=str)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
