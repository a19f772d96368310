"""The browser's cost of redrawing the opinion map, in headless Chromium: why the map is its own component.

    .venv/bin/python benchmarks/webgl.py [--points 5000] [--reps 10]

Loads plotly.js (from the installed plotly package) into a local page and times each way of drawing:

* a new SVG chart and a new WebGL chart of 10 points: the fixed cost of a chart, and of a WebGL one;
* a new WebGL map of ``--points`` points (synthetic, seeded, built by ``opinion_map_figure`` with hover
  texts like a real map's), at ``plotGlPixelRatio`` 2 (plotly's default) and 1 (the dashboard's): what
  ``st.plotly_chart`` does on every colour change, since a new figure mounts a new chart;
* ``Plotly.react`` from one colouring of that map to another at ratio 1: what ``pages/ui/map_chart.py`` does.

Each time runs from the figure's JSON text (parsed in the timing) until the next animation frame after
the draw. Prints the median and p95 over ``--reps`` draws, alternating between two colourings.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import plotly
import plotly.io as pio

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dembias.plots.opinion_map import opinion_map_figure  # noqa: E402

PAGE = """<html><head><meta charset="utf-8"><script src="plotly.min.js"></script><script src="figures.js"></script>
</head><body><div id="chart" style="width:1300px;height:600px"></div></body></html>"""
# draw FIGURES[a], FIGURES[b], FIGURES[a], ... ``reps`` times; mode "new" (purge + newPlot) or "react"
DRAW = """async ([a, b, mode, ratio, reps]) => {
  const chart = document.getElementById('chart');
  const times = [];
  for (let i = 0; i < reps + 1; i++) {
    const text = FIGURES[i % 2 ? b : a];
    const t = performance.now();
    const figure = JSON.parse(text);
    if (mode === 'new') Plotly.purge(chart);
    await (mode === 'new' ? Plotly.newPlot : Plotly.react)(chart, figure.data, figure.layout, {plotGlPixelRatio: ratio});
    await new Promise(done => requestAnimationFrame(() => setTimeout(done, 0)));
    if (i > 0) times.push(performance.now() - t);  // the first draw warms up (and for react is a new chart)
  }
  Plotly.purge(chart);
  return times;
}"""


def synthetic_points(n: int, *, seed: int = 0) -> pd.DataFrame:
    """``n`` map points in 200 clusters and 5 languages, with ~150-character texts."""
    rng = np.random.default_rng(seed)
    words = np.array(["public", "transport", "tax", "climate", "housing", "school", "local", "price", "energy"])
    centres = rng.normal(scale=10, size=(200, 2))
    cluster = rng.integers(-1, 200, size=n)
    xy = centres[np.maximum(cluster, 0)] + rng.normal(size=(n, 2))
    return pd.DataFrame(
        {
            "contribution_id": [f"c{i}" for i in range(n)],
            "x": xy[:, 0],
            "y": xy[:, 1],
            "cluster": cluster,
            "label": [f"label {c}" for c in cluster],
            "language": rng.choice(["de", "en", "es", "fr", "it"], size=n),
            "text": [" ".join(rng.choice(words, size=22)) for _ in range(n)],
        }
    )


def figures(n: int) -> dict[str, str]:
    """Figure JSON texts: the map by cluster and by language, and 10-point SVG and WebGL charts."""
    points = synthetic_points(n)
    out = {c: pio.to_json(opinion_map_figure(points, color_by=c), validate=False) for c in ("cluster", "language")}
    for kind in ("scatter", "scattergl"):
        rng = np.random.default_rng(1)
        data = [{"type": kind, "mode": "markers", "x": rng.random(10).tolist(), "y": rng.random(10).tolist()}]
        out[f"{kind}10"] = json.dumps({"data": data, "layout": {"height": 600}})
    return out


def summary(times: list[float]) -> tuple[float, float]:
    """Median and p95 (nearest rank) in seconds."""
    ordered = sorted(times)
    return statistics.median(ordered) / 1000, ordered[max(0, round(0.95 * len(ordered)) - 1)] / 1000


def main(argv: list[str] | None = None) -> None:
    """Command line of the WebGL benchmark."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=5_000)
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args(argv)
    from tests.browser import chromium_page

    cases = [
        ("new SVG chart, 10 points", "scatter10", "scatter10", "new", 2),
        ("new WebGL chart, 10 points, ratio 2", "scattergl10", "scattergl10", "new", 2),
        ("new WebGL chart, 10 points, ratio 1", "scattergl10", "scattergl10", "new", 1),
        (f"new WebGL map, {args.points:,} points, ratio 2", "cluster", "language", "new", 2),
        (f"new WebGL map, {args.points:,} points, ratio 1", "cluster", "language", "new", 1),
        (f"Plotly.react of the map, {args.points:,} points, ratio 1", "cluster", "language", "react", 1),
    ]
    with tempfile.TemporaryDirectory() as folder:
        shutil.copyfile(Path(plotly.__file__).parent / "package_data" / "plotly.min.js", Path(folder, "plotly.min.js"))
        Path(folder, "figures.js").write_text("window.FIGURES = " + json.dumps(figures(args.points)) + ";")
        Path(folder, "index.html").write_text(PAGE)
        with chromium_page() as page:
            page.goto(Path(folder, "index.html").as_uri())
            page.wait_for_function("window.FIGURES && window.Plotly")
            page.evaluate(DRAW, ["scattergl10", "scattergl10", "new", 2, 2])  # warm up
            print(f"plotly.js {page.evaluate('Plotly.version')}, headless Chromium without a GPU (SwiftShader WebGL)")
            print(f"{'draw':52} {'median s':>9} {'p95 s':>7}")
            for name, a, b, mode, ratio in cases:
                median, p95 = summary(page.evaluate(DRAW, [a, b, mode, ratio, args.reps]))
                print(f"{name:52} {median:>9.3f} {p95:>7.3f}")


if __name__ == "__main__":
    sys.exit(main())
