"""The opinion map: contributions in 2-D (UMAP) coloured by cluster, vote group, language or country."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dembias.plots.style import DROPPED_COLOUR, NOISE_COLOUR, base_layout, colour_for, safe_hover

COLOR_BY = ("cluster", "vote_group", "language", "country")
LEGEND_CAP = (
    20  # categories drawn and listed one by one (the largest clusters: ids follow size); the rest share a trace
)


def _category_name(color_by: str, value: object, labels: dict[int, str]) -> str:
    if color_by == "cluster":
        if value == -1:
            return "noise"
        label = labels.get(int(value), "")
        return f"C{int(value)} {label}".strip()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "unknown"
    if color_by == "vote_group":
        return f"group {int(value)}" if not isinstance(value, str) else value
    return str(value)


def with_hover(points: pd.DataFrame) -> pd.DataFrame:
    """``points`` with ``hover_id`` and ``hover_text``: each point's id and text, escaped and wrapped for a hover.

    These do not depend on the colouring, so a caller that caches them (the dashboard) pays the escaping
    once per map rather than on every colour change.
    """
    out = points.copy()
    out["hover_id"] = [safe_hover(cid, max_chars=40) for cid in points["contribution_id"]]
    out["hover_text"] = [safe_hover(text, max_chars=160) for text in points["text"]]
    return out


@dataclass(frozen=True)
class _Category:
    """One category of the colouring: the rows of its points and how they are drawn."""

    name: str  # already escaped
    rows: np.ndarray  # positions of its points in the frame
    colour: str
    outline: str | None  # outline colour of a dropped cluster's grey points
    opacity: float
    dropped: bool


@dataclass(frozen=True)
class _Columns:
    """The columns a trace reads, as arrays (indexing them per category is far cheaper than slicing frames)."""

    x: np.ndarray
    y: np.ndarray
    ids: np.ndarray
    hover_id: np.ndarray
    hover_text: np.ndarray

    @classmethod
    def of(cls, points: pd.DataFrame) -> _Columns:
        return cls(
            x=points["x"].to_numpy(dtype=float),
            y=points["y"].to_numpy(dtype=float),
            ids=points["contribution_id"].astype(str).to_numpy(dtype=object),
            hover_id=points["hover_id"].to_numpy(dtype=object),
            hover_text=points["hover_text"].to_numpy(dtype=object),
        )


def _trace(columns: _Columns, entries: list[_Category], name: str, *, showlegend: bool) -> dict:
    """One WebGL scatter trace (a plain dict) drawing the points of ``entries``, each in its own colours."""
    rows = np.concatenate([e.rows for e in entries])
    sizes = [len(e.rows) for e in entries]
    hover = [
        f"<b>{i}</b> · {e.name}<br>{t}"
        for e in entries
        for i, t in zip(columns.hover_id[e.rows], columns.hover_text[e.rows], strict=True)
    ]
    single = len(entries) == 1
    colours = entries[0].colour if single else np.repeat([e.colour for e in entries], sizes)
    line: dict = {"width": 0}
    if any(e.outline for e in entries):
        line = {
            "width": 1.2,
            "color": entries[0].outline if single else np.repeat([e.outline or e.colour for e in entries], sizes),
        }
    return {
        "type": "scattergl",
        "x": columns.x[rows],
        "y": columns.y[rows],
        "mode": "markers",
        "name": name,
        "showlegend": showlegend,
        "marker": {"size": 7, "color": colours, "opacity": entries[0].opacity, "line": line},
        "customdata": columns.ids[rows],
        "hovertext": np.array(hover, dtype=object),
        "hoverinfo": "text",
    }


def opinion_map_figure(
    points: pd.DataFrame,
    *,
    color_by: str = "cluster",
    covered_clusters: Collection[int] | None = None,
    surviving_only: bool = False,
    units: pd.DataFrame | None = None,
    title: str | None = None,
    height: int = 600,
) -> go.Figure:
    """Scatter of ``points`` (columns contribution_id, x, y, cluster, text, and the ``color_by`` column).

    ``covered_clusters``: clusters that the selected output carries; the others are drawn grey with an
    outline in their own colour and marked "dropped" in the legend. ``surviving_only`` greys every
    cluster that is not covered (the "what survives" view). ``units`` (columns x, y, text) are the
    output's units, drawn as stars. Each point's ``customdata`` is its contribution id, for selections.
    """
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be one of {COLOR_BY}, got {color_by!r}")
    if "hover_text" not in points.columns or "hover_id" not in points.columns:
        points = with_hover(points)
    labels = {}
    if "label" in points.columns:
        labels = dict(zip(points["cluster"].astype(int), points["label"].fillna(""), strict=False))
    covered = set(int(c) for c in covered_clusters) if covered_clusters is not None else None
    values = points[color_by] if color_by in points.columns else pd.Series([None] * len(points))
    categories = sorted(values.dropna().unique().tolist(), key=lambda v: (str(type(v)), v))
    if values.isna().any():
        categories.append(None)
    # one stable sort of the category codes instead of a boolean mask per category (hundreds of clusters on a
    # large debate): each category's rows are a slice of ``order``, in the frame's order
    codes = values.map({v: i for i, v in enumerate(categories) if v is not None}).fillna(len(categories) - 1)
    codes = codes.to_numpy(dtype=int)
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(categories) + 1))
    columns = _Columns.of(points)
    entries = []
    for index, value in enumerate(categories):
        rows = order[bounds[index] : bounds[index + 1]]
        if not len(rows):
            continue
        name = _category_name(color_by, value, labels)
        colour = NOISE_COLOUR if (color_by == "cluster" and value == -1) or value is None else colour_for(index)
        outline, opacity, dropped = None, 0.8, False
        if color_by == "cluster" and covered is not None and value != -1 and int(value) not in covered:
            name += " · dropped"
            dropped = True
            if surviving_only:  # the "what survives" view: dropped clusters fade out entirely
                colour, opacity = DROPPED_COLOUR, 0.35
            else:  # grey fill, outlined in the cluster's own colour
                outline, colour, opacity = colour, DROPPED_COLOUR, 0.9
        entries.append(_Category(safe_hover(name, max_chars=60), rows, colour, outline, opacity, dropped))
    # the largest categories get a trace (and a legend entry) each; the rest share one trace per style, with
    # per-point colours: the browser draws one WebGL trace much faster than hundreds of small ones
    traces: list[dict] = [_trace(columns, [e], e.name, showlegend=True) for e in entries[:LEGEND_CAP]]
    for dropped in (False, True):
        rest = [e for e in entries[LEGEND_CAP:] if e.dropped == dropped]
        if rest:
            noun = "clusters" if color_by == "cluster" else "values"
            name = f"{len(rest)} smaller {noun}" + (" · dropped" if dropped else "")
            traces.append(_trace(columns, rest, name, showlegend=True))
    if units is not None and not units.empty:
        traces.append(
            {
                # WebGL like the points, and after them, so the stars are drawn on top (plotly draws its WebGL
                # layer over SVG traces: an SVG star under a contribution's dot was hidden by it)
                "type": "scattergl",
                "x": units["x"].to_numpy(),
                "y": units["y"].to_numpy(),
                "mode": "markers",
                "name": "summary units",
                "marker": {"symbol": "star", "size": 15, "color": "#111111", "line": {"width": 1, "color": "white"}},
                "hovertext": [
                    f"<b>unit {int(i)}</b><br>{safe_hover(t)}"
                    for i, t in zip(units["unit_index"], units["text"], strict=True)
                ],
                "hoverinfo": "text",
            }
        )
    # the traces are plain dicts built above from known-valid properties: validating them one add_trace at a
    # time took 0.9 s for 230 clusters (tests validate the result through go.Figure(fig.to_dict()))
    fig = go.Figure(data=traces, _validate=False)
    base_layout(fig, title=title, height=height)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)  # UMAP axes carry no unit: let the map use the full width
    fig.update_layout(dragmode="lasso", legend={"title": {"text": color_by.replace("_", " ")}})
    return fig
