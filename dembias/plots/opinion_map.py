"""The opinion map: contributions in 2-D (UMAP) coloured by cluster, vote group, language or country."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dembias.plots.style import DROPPED_COLOUR, FADED_COLOUR, NOISE_COLOUR, PALETTE, base_layout, safe_hover

COLOR_BY = ("cluster", "vote_group", "language", "country")
LEGEND_CAP = (
    20  # categories drawn and listed one by one (the largest clusters: ids follow size); the rest share a trace
)
#: The legend entry of every topic the summary dropped (one trace, in :data:`DROPPED_COLOUR`).
DROPPED_NAME = "dropped by the summary"
#: Colours of the map's categories: the palette without the tones a reader could take for the dropped vermilion
#: (oranges, pink, brown) or for the light grey of noise.
MAP_PALETTE = tuple(c for c in PALETTE if c not in {"#D55E00", "#E69F00", "#F28E2B", "#FF9DA7", "#9C755F", "#BAB0AC"})
LABELS_MAX = 24  # topic labels written on the map at most (the largest topics, and every dropped one first)


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
    opacity: float
    dropped: bool
    symbol: str = "circle"


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
    """One WebGL scatter trace (a plain dict) drawing the points of ``entries``, each in its own colour."""
    rows = np.concatenate([e.rows for e in entries])
    sizes = [len(e.rows) for e in entries]
    hover = [
        f"<b>{i}</b> · {e.name}<br>{t}"
        for e in entries
        for i, t in zip(columns.hover_id[e.rows], columns.hover_text[e.rows], strict=True)
    ]
    single = len(set(e.colour for e in entries)) == 1
    colours = entries[0].colour if single else np.repeat([e.colour for e in entries], sizes)
    dropped = entries[0].dropped and entries[0].opacity > 0.5
    marker = {"size": 9 if dropped else 7, "color": colours, "opacity": entries[0].opacity, "symbol": entries[0].symbol}
    marker["line"] = {"width": 0.6, "color": "#5A2500"} if dropped else {"width": 0}
    return {
        "type": "scattergl",
        "x": columns.x[rows],
        "y": columns.y[rows],
        "mode": "markers",
        "name": name,
        "showlegend": showlegend,
        "marker": marker,
        "customdata": columns.ids[rows],
        "hovertext": np.array(hover, dtype=object),
        "hoverinfo": "text",
    }


@dataclass(frozen=True)
class _Finding:
    """What the summary did to the topics, and how the map shows it."""

    covered: set[int] | None  # topics the summary carries (None: no summary selected)
    surviving_only: bool  # the "what survives" view: dropped topics fade out
    focus_dropped: bool  # "show what the summary dropped": everything else fades out

    def is_dropped(self, color_by: str, value: object) -> bool:
        return color_by == "cluster" and self.covered is not None and value != -1 and int(value) not in self.covered


def _categories(points: pd.DataFrame, color_by: str) -> tuple[list[object], np.ndarray, np.ndarray]:
    """The colouring's categories (sorted, unknown last), and the rows of each as slices of one stable sort."""
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
    return categories, order, bounds


def _style(color_by: str, index: int, value: object, finding: _Finding) -> tuple[str, float, bool, str]:
    """(colour, opacity, dropped, symbol) of one category."""
    noise = (color_by == "cluster" and value == -1) or value is None
    colour = NOISE_COLOUR if noise else MAP_PALETTE[index % len(MAP_PALETTE)]
    if finding.is_dropped(color_by, value):
        if finding.surviving_only:
            return FADED_COLOUR, 0.35, True, "circle"
        return DROPPED_COLOUR, 0.95, True, "diamond"
    return colour, (0.12 if finding.focus_dropped else 0.8), False, "circle"


def _entries(points: pd.DataFrame, color_by: str, finding: _Finding, labels: dict[int, str]) -> list[_Category]:
    categories, order, bounds = _categories(points, color_by)
    entries = []
    for index, value in enumerate(categories):
        rows = order[bounds[index] : bounds[index + 1]]
        if not len(rows):
            continue
        colour, opacity, dropped, symbol = _style(color_by, index, value, finding)
        name = _category_name(color_by, value, labels) + (f" · {DROPPED_NAME}" if dropped else "")
        entries.append(_Category(safe_hover(name, max_chars=60), rows, colour, opacity, dropped, symbol))
    return entries


def _point_traces(columns: _Columns, entries: list[_Category], color_by: str) -> list[dict]:
    """The largest kept categories one trace (and legend entry) each, the rest merged, every dropped topic in one.

    The browser draws one WebGL trace much faster than hundreds of small ones.
    """
    kept = [e for e in entries if not e.dropped]
    dropped = [e for e in entries if e.dropped]
    traces = [_trace(columns, [e], e.name, showlegend=True) for e in kept[:LEGEND_CAP]]
    if kept[LEGEND_CAP:]:
        noun = "clusters" if color_by == "cluster" else "values"
        traces.append(_trace(columns, kept[LEGEND_CAP:], f"{len(kept) - LEGEND_CAP} smaller {noun}", showlegend=True))
    if dropped:
        name = f"{DROPPED_NAME} ({len(dropped)} topic{'s' if len(dropped) > 1 else ''})"
        traces.append(_trace(columns, dropped, name, showlegend=True))
    return traces


def _units_trace(units: pd.DataFrame) -> dict:
    return {
        # WebGL like the points, and after them, so the stars are drawn on top (plotly draws its WebGL
        # layer over SVG traces: an SVG star under a contribution's dot was hidden by it)
        "type": "scattergl",
        "x": units["x"].to_numpy(),
        "y": units["y"].to_numpy(),
        "mode": "markers",
        "name": "summary units",
        "marker": {"symbol": "star", "size": 15, "color": "#111111", "line": {"width": 1, "color": "white"}},
        "hovertext": [
            f"<b>unit {int(i)}</b><br>{safe_hover(t)}" for i, t in zip(units["unit_index"], units["text"], strict=True)
        ],
        "hoverinfo": "text",
    }


def _ring_trace(columns: _Columns, rows: np.ndarray, name: str, *, size: int, colour: str) -> dict:
    """Open circles around chosen points (search matches, the pinned point), on top of everything."""
    return {
        "type": "scattergl",
        "x": columns.x[rows],
        "y": columns.y[rows],
        "mode": "markers",
        "name": name,
        "marker": {"symbol": "circle-open", "size": size, "color": colour, "line": {"width": 2.5, "color": colour}},
        "customdata": columns.ids[rows],
        "hovertext": np.array(
            [f"<b>{i}</b><br>{t}" for i, t in zip(columns.hover_id[rows], columns.hover_text[rows], strict=True)],
            dtype=object,
        ),
        "hoverinfo": "text",
    }


@dataclass(frozen=True)
class Overlays:
    """What is ringed on top of the map: search matches (black) and the pinned contribution (blue)."""

    highlight_ids: Collection[str] = ()
    highlight_name: str = "search matches"
    pinned_id: str | None = None


def matching_ids(points: pd.DataFrame, search: str) -> list[str]:
    """Ids of the points whose text contains ``search`` (case-insensitive, literal; none for an empty search)."""
    needle = (search or "").strip().lower()
    if not needle:
        return []
    found = points["text"].fillna("").str.lower().str.contains(needle, regex=False)
    return points.loc[found, "contribution_id"].astype(str).tolist()


def topic_labels(points: pd.DataFrame, finding: _Finding, labels: dict[int, str]) -> list[dict]:
    """Layout annotations: each topic's label at the median of its points (dropped topics first, then by size)."""
    clustered = points[points["cluster"] != -1]
    if clustered.empty:
        return []
    centres = clustered.groupby("cluster").agg(x=("x", "median"), y=("y", "median"), n=("x", "size"))
    centres["dropped"] = [finding.is_dropped("cluster", c) for c in centres.index]
    if finding.focus_dropped:
        centres = centres[centres["dropped"]]
    centres = centres.sort_values(["dropped", "n"], ascending=[False, False]).head(LABELS_MAX)
    notes = []
    for cluster, row in centres.iterrows():
        text = safe_hover(f"C{int(cluster)} {labels.get(int(cluster), '')}".strip(), max_chars=36)
        faded = finding.surviving_only and row["dropped"]
        colour = "#9A9A9A" if faded else (DROPPED_COLOUR if row["dropped"] else "#222222")
        if row["dropped"] and not faded:
            text = f"<b>{text}</b> · dropped"
        notes.append(
            {
                "x": float(row["x"]),
                "y": float(row["y"]),
                "text": text,
                "showarrow": False,
                "font": {"size": 11, "color": colour},
                "bgcolor": "rgba(255,255,255,0.75)",
                "borderpad": 1,
            }
        )
    return notes


def opinion_map_figure(
    points: pd.DataFrame,
    *,
    color_by: str = "cluster",
    covered_clusters: Collection[int] | None = None,
    surviving_only: bool = False,
    focus_dropped: bool = False,
    units: pd.DataFrame | None = None,
    overlays: Overlays | None = None,
    legend_below: bool = False,
    title: str | None = None,
    height: int = 600,
) -> go.Figure:
    """Scatter of ``points`` (columns contribution_id, x, y, cluster, text, and the ``color_by`` column).

    ``covered_clusters``: clusters that the selected output carries; coloured by cluster, every other
    topic is drawn as a vermilion diamond under one legend entry, "dropped by the summary" (noise stays
    light grey). ``surviving_only`` fades the dropped topics instead (the "what survives" view);
    ``focus_dropped`` fades everything but them ("show what the summary dropped"). Coloured by cluster,
    each topic's label is written at its centre. ``units`` (columns x, y, text) are the output's units,
    drawn as stars. ``overlays``: search matches and the pinned point, ringed (:class:`Overlays`).
    ``legend_below`` for a narrow map. Each point's ``customdata`` is its contribution id, for selections
    and clicks.
    """
    if color_by not in COLOR_BY:
        raise ValueError(f"color_by must be one of {COLOR_BY}, got {color_by!r}")
    if "hover_text" not in points.columns or "hover_id" not in points.columns:
        points = with_hover(points)
    labels = {}
    if "label" in points.columns:
        labels = dict(zip(points["cluster"].astype(int), points["label"].fillna(""), strict=False))
    covered = set(int(c) for c in covered_clusters) if covered_clusters is not None else None
    finding = _Finding(covered, surviving_only, focus_dropped and covered is not None and color_by == "cluster")
    columns = _Columns.of(points)
    traces = _point_traces(columns, _entries(points, color_by, finding, labels), color_by)
    if units is not None and not units.empty:
        traces.append(_units_trace(units))
    traces += _overlays(columns, overlays or Overlays())
    # the traces are plain dicts built above from known-valid properties: validating them one add_trace at a
    # time took 0.9 s for 230 clusters (tests validate the result through go.Figure(fig.to_dict()))
    fig = go.Figure(data=traces, _validate=False)
    base_layout(fig, title=title, height=height)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)  # UMAP axes carry no unit: let the map use the full width
    legend = {"title": {"text": color_by.replace("_", " ")}}
    if legend_below:
        legend.update(orientation="h", yanchor="top", y=-0.02, x=0)
    fig.update_layout(dragmode="lasso", legend=legend)
    if color_by == "cluster" and "cluster" in points.columns:
        fig.update_layout(annotations=topic_labels(points, finding, labels))
    return fig


def _overlays(columns: _Columns, overlays: Overlays) -> list[dict]:
    """Rings around the search matches and the pinned point (none when there are none)."""
    traces = []
    if overlays.highlight_ids:
        rows = np.flatnonzero(np.isin(columns.ids, list(map(str, overlays.highlight_ids))))
        name = safe_hover(f"{overlays.highlight_name} ({len(rows)})", max_chars=60)
        traces.append(_ring_trace(columns, rows, name, size=13, colour="#111111"))
    if overlays.pinned_id is not None:
        rows = np.flatnonzero(columns.ids == str(overlays.pinned_id))
        if len(rows):
            traces.append(_ring_trace(columns, rows, "pinned", size=20, colour="#0072B2"))
    return traces
