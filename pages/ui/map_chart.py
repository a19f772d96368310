"""The opinion map's WebGL chart, redrawn in place on a colour change (the component in map_chart.js, beside this file).

``st.plotly_chart`` hashes the figure into the element's identity, so every colour change mounted a new
WebGL chart, the slowest part of a colour change. This keyed ``st.components.v2`` component lives in the
page itself and redraws with ``Plotly.react``. plotly.js comes from the installed plotly package: Streamlit
serves the folder of a declared (v1) component, declared here on plotly's own ``package_data`` folder (never a
copy in a shared temporary folder) only to serve that one file.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import plotly
import plotly.io as pio
import streamlit as st
import streamlit.components.v1 as components_v1

JS = (Path(__file__).resolve().parent / "map_chart.js").read_text(encoding="utf-8")
PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def assets_folder() -> Path:
    """The folder served to the browser for plotly.js: the installed plotly package's own ``package_data``.

    Nothing is copied: an earlier version copied plotly.min.js to a predictable, shared ``$TMPDIR`` folder that
    another local user could create first and fill (a planted script ran in the dashboard; a planted symlink
    made the copy overwrite a file of the dashboard's user). The package folder is written only by whoever
    installed the environment, and Streamlit serves a component's files only from inside its folder (symlinks
    resolved, ``..`` refused). The file must be a regular file (not a symlink) whose SHA-256 matches the one
    pip recorded when it installed plotly (its ``RECORD``), checked once per server process (about 20 ms).
    """
    if PLOTLY_JS.is_symlink() or not PLOTLY_JS.is_file():
        raise RuntimeError(f"{PLOTLY_JS}: not a regular file; reinstall plotly")
    expected = _recorded_sha256()
    if expected is not None:
        actual = base64.urlsafe_b64encode(hashlib.sha256(PLOTLY_JS.read_bytes()).digest()).rstrip(b"=").decode()
        if actual != expected:
            raise RuntimeError(f"{PLOTLY_JS}: content differs from the installed plotly's record; reinstall plotly")
    return PLOTLY_JS.parent


def _recorded_sha256() -> str | None:
    """The urlsafe-base64 SHA-256 of plotly.min.js in plotly's installed RECORD (None when pip recorded none).

    The RECORD is scanned as text for the one line (``metadata.files`` would build ~20,000 entries: 0.1 s).
    """
    dist = metadata.distribution("plotly")
    record = dist.read_text("RECORD") or ""
    relative = PLOTLY_JS.relative_to(Path(str(dist.locate_file(""))).resolve()).as_posix()
    for line in record.splitlines():
        name, _, rest = line.partition(",")
        if name == relative and rest.startswith("sha256="):
            return rest.split(",", 1)[0].removeprefix("sha256=")
    return None


_assets = components_v1.declare_component("dembias_assets", path=str(assets_folder()))
# relative to the page's URL, which sits one level under the app's base URL (also with server.baseUrlPath)
PLOTLY_URL = f"component/{_assets.name}/plotly.min.js"
TOOLBAR_HEIGHT = 36  # pixels
# not style-isolated: plotly.js puts its styles (toolbar, hover labels) in the document's head, which a shadow
# root would not see
_component = st.components.v2.component("dembias_opinion_map", js=JS, isolate_styles=False)


@dataclass(frozen=True)
class MapEvents:
    """What the reader did on the map: the ids inside a lasso or box, and the last point clicked.

    ``clicked`` is ``{"id": contribution id, "at": browser time in ms}`` (a new value for every click,
    so clicking the same point again is seen), or None before any click.
    """

    selection: list[str]
    clicked: dict | None


def map_chart(figure: Any, *, key: str, config: dict[str, Any]) -> MapEvents:
    """Draw ``figure`` (a scattergl map whose customdata are contribution ids); returns the selection and click."""
    # keep the reader's zoom and pan across redraws; leave room above the plot for plotly's toolbar, which
    # would otherwise cover the legend's title (st.plotly_chart draws its toolbar outside the figure)
    figure.update_layout(uirevision=key, margin={"t": max(figure.layout.margin.t or 0, TOOLBAR_HEIGHT)})
    data = {"spec": pio.to_json(figure, validate=False), "config": json.dumps(config), "plotly_url": PLOTLY_URL}
    # Streamlit keeps only the state keys that have an on_<key>_change callback: these register "selection"
    # and "clicked"
    result = _component(
        key=key,
        data=data,
        default={"selection": [], "clicked": None},
        on_selection_change=lambda: None,
        on_clicked_change=lambda: None,
    )
    clicked = result.clicked if isinstance(result.clicked, dict) and result.clicked.get("id") is not None else None
    return MapEvents([str(i) for i in (result.selection or [])], clicked)
