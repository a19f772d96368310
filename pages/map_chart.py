"""The opinion map's WebGL chart, redrawn in place on a colour change (the component in map_chart/map_chart.js).

``st.plotly_chart`` hashes the figure into the element's identity, so every colour change mounted a new
WebGL chart, the slowest part of a colour change. This keyed ``st.components.v2`` component lives in the
page itself and redraws with ``Plotly.react``. plotly.js comes from the installed plotly package: Streamlit
serves the folder of a declared (v1) component, which is used here only to serve that one file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import plotly
import plotly.io as pio
import streamlit as st
import streamlit.components.v1 as components_v1

JS = (Path(__file__).resolve().parent / "map_chart" / "map_chart.js").read_text(encoding="utf-8")
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def _assets_folder() -> Path:
    """A folder holding plotly.min.js, copied from the plotly wheel once per version (atomically)."""
    folder = Path(tempfile.gettempdir()) / f"dembias-plotly-{plotly.__version__}-{os.getuid()}"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "plotly.min.js"
    if not target.exists() or target.stat().st_size != PLOTLY_JS.stat().st_size:
        partial = folder / f".plotly.min.js.{os.getpid()}"
        shutil.copyfile(PLOTLY_JS, partial)
        os.replace(partial, target)
    return folder


_assets = components_v1.declare_component("dembias_assets", path=str(_assets_folder()))
# relative to the page's URL, which sits one level under the app's base URL (also with server.baseUrlPath)
PLOTLY_URL = f"component/{_assets.name}/plotly.min.js"
TOOLBAR_HEIGHT = 36  # pixels
# not style-isolated: plotly.js puts its styles (toolbar, hover labels) in the document's head, which a shadow
# root would not see
_component = st.components.v2.component("dembias_opinion_map", js=JS, isolate_styles=False)


def map_chart(figure: Any, *, key: str, config: dict[str, Any]) -> list[str]:
    """Draw ``figure`` (a scattergl map whose customdata are contribution ids); returns the ids selected."""
    # keep the reader's zoom and pan across redraws; leave room above the plot for plotly's toolbar, which
    # would otherwise cover the legend's title (st.plotly_chart draws its toolbar outside the figure)
    figure.update_layout(uirevision=key, margin={"t": max(figure.layout.margin.t or 0, TOOLBAR_HEIGHT)})
    data = {"spec": pio.to_json(figure, validate=False), "config": json.dumps(config), "plotly_url": PLOTLY_URL}
    # Streamlit keeps only the state keys that have an on_<key>_change callback: this one registers "selection"
    result = _component(key=key, data=data, default={"selection": []}, on_selection_change=lambda: None)
    return [str(i) for i in (result.selection or [])]
