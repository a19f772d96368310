"""The opinion map: contributions in 2-D (UMAP) coloured by cluster, vote group, language or country."""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dembias.plots.style import DROPPED_COLOUR, NOISE_COLOUR, base_layout, colour_for, safe_hover

COLOR_BY = ("cluster", "vote_group", "language", "country")
LEGEND_CAP = 40  # categories listed in the legend at most (the largest clusters: cluster ids follow size)


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
    traces: list[dict] = []
    labels = {}
    if "label" in points.columns:
        labels = dict(zip(points["cluster"].astype(int), points["label"].fillna(""), strict=False))
    covered = set(int(c) for c in covered_clusters) if covered_clusters is not None else None
    values = points[color_by] if color_by in points.columns else pd.Series([None] * len(points))
    categories = sorted(values.dropna().unique().tolist(), key=lambda v: (str(type(v)), v))
    if values.isna().any():
        categories.append(None)
    # one group-by instead of a boolean mask per category (hundreds of clusters on a large debate)
    codes = values.map({v: i for i, v in enumerate(categories) if v is not None}).fillna(len(categories) - 1)
    parts = dict(tuple(points.groupby(codes.to_numpy(dtype=int), sort=False)))
    for index, value in enumerate(categories):
        part = parts.get(index, points.iloc[0:0])
        if part.empty:
            continue
        name = _category_name(color_by, value, labels)
        colour = NOISE_COLOUR if (color_by == "cluster" and value == -1) or value is None else colour_for(index)
        line = {"width": 0}
        opacity = 0.8
        if color_by == "cluster" and covered is not None and value != -1 and int(value) not in covered:
            name += " · dropped"
            if surviving_only:  # the "what survives" view: dropped clusters fade out entirely
                colour, opacity = DROPPED_COLOUR, 0.35
            else:  # grey fill, outlined in the cluster's own colour
                line = {"width": 1.2, "color": colour}
                colour, opacity = DROPPED_COLOUR, 0.9
        tag = safe_hover(name, max_chars=60)
        hover = np.array(
            [f"<b>{i}</b> · {tag}<br>{t}" for i, t in zip(part["hover_id"], part["hover_text"], strict=True)],
            dtype=object,
        )
        traces.append(
            {
                "type": "scattergl",
                "x": part["x"].to_numpy(),
                "y": part["y"].to_numpy(),
                "mode": "markers",
                "name": tag,
                "showlegend": len(traces) < LEGEND_CAP,  # the hover still names every category
                "marker": {"size": 7, "color": colour, "opacity": opacity, "line": line},
                "customdata": part["contribution_id"].astype(str).to_numpy(dtype=object),
                "hovertext": hover,
                "hoverinfo": "text",
            }
        )
    if units is not None and not units.empty:
        traces.append(
            {
                "type": "scatter",
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
