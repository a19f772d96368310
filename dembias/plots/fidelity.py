"""Fidelity distributions: similarity (or review score) of rewrites by language pair, country or cluster."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dembias.plots.style import base_layout, colour_for, safe_hover

# up to this many rewrites every one is drawn as a dot over its box; above it only the outliers are (2,000 SVG
# dots made each redraw of the chart cost about 0.3 s in the browser)
ALL_POINTS_MAX = 1_000


def fidelity_distribution_figure(pairs: pd.DataFrame, *, by: str, metric: str = "similarity") -> go.Figure:
    """Box plots of ``metric`` per value of ``by`` (one box per group, n in the label).

    Every rewrite is drawn as a dot when there are at most :data:`ALL_POINTS_MAX`; else only the outliers.
    """
    fig = go.Figure()
    boxpoints = "all" if len(pairs) <= ALL_POINTS_MAX else "outliers"
    groups = pairs.groupby(pairs[by].astype(str).fillna("unknown"), sort=True)
    for index, (value, part) in enumerate(groups):
        fig.add_trace(
            go.Box(
                y=part[metric],
                name=f"{safe_hover(value, max_chars=30)} (n={len(part)})",
                boxpoints=boxpoints,
                jitter=0.4,
                pointpos=0,
                marker={"size": 5, "color": colour_for(index), "opacity": 0.6},
                line={"color": colour_for(index)},
                customdata=part["output_id"],
                hovertemplate="%{customdata}<br>" + metric + " %{y:.3f}<extra></extra>",
            )
        )
    base_layout(fig, height=420)
    fig.update_layout(showlegend=False)
    fig.update_yaxes(title=metric.replace("_", " "), gridcolor="#EEEEEE")
    fig.update_xaxes(title=by.replace("_", " "))
    return fig
