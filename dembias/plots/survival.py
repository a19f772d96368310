"""Cluster survival: each cluster's share of the debate against its share of the summary."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dembias.plots.style import base_layout, safe_hover

DEBATE_COLOUR = "#9AA5B1"
SUMMARY_COLOUR = "#3B5BDB"
MINORITY_COLOUR = "#D9480F"


def survival_figure(clusters: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Horizontal bars per cluster (largest first): share in the debate (p_s) and in the summary (p_t).

    ``clusters`` has columns cluster, label, p_s, p_t, covered, is_minority. Minority clusters are named
    in orange and marked ★; dropped clusters (not covered) are marked ✕.
    """
    frame = clusters.sort_values("p_s", ascending=True).reset_index(drop=True)
    labels = frame["label"] if "label" in frame.columns else pd.Series([""] * len(frame))
    names = [
        ("★ " if minority else "")
        + ("✕ " if not covered else "")
        + f"C{int(cluster)} "
        + safe_hover(label or "", max_chars=40)
        for cluster, label, minority, covered in zip(
            frame["cluster"], labels, frame["is_minority"], frame["covered"], strict=True
        )
    ]
    tick_colours = [MINORITY_COLOUR if m else "#333333" for m in frame["is_minority"]]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=names,
            x=frame["p_s"],
            orientation="h",
            name="share of the debate (p_s)",
            marker_color=DEBATE_COLOUR,
            hovertemplate="%{y}<br>debate share %{x:.1%}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            y=names,
            x=frame["p_t"].fillna(0.0),
            orientation="h",
            name="share of the summary (p_t)",
            marker_color=SUMMARY_COLOUR,
            hovertemplate="%{y}<br>summary share %{x:.1%}<extra></extra>",
        )
    )
    base_layout(fig, title=title, height=max(320, 28 * len(frame) + 120))
    fig.update_layout(barmode="group", bargap=0.25, legend={"orientation": "h", "y": 1.02, "yanchor": "bottom"})
    fig.update_xaxes(tickformat=".0%", gridcolor="#EEEEEE", title="share")
    fig.update_yaxes(tickfont={"size": 12})
    # one layout update: add_annotation per cluster re-validates the layout each time (quadratic; 0.9 s at 230 clusters)
    fig.update_layout(
        annotations=[
            {
                "x": 0,
                "y": name,
                "xref": "paper",
                "yref": "y",
                "text": "",
                "showarrow": False,
                "bgcolor": colour,
                "width": 4,
                "height": 14,
                "xanchor": "right",
            }
            for name, colour in zip(names, tick_colours, strict=True)
            if colour == MINORITY_COLOUR
        ]
    )
    return fig
