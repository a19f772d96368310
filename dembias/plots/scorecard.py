"""Dot-and-whisker comparison of one metric across outputs (value with its 95% interval)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dembias.plots.style import base_layout, safe_hover

MODEL_COLOUR = "#3B5BDB"
BASELINE_COLOUR = "#868E96"


def metric_dots_figure(scores: pd.DataFrame, metric: str, *, title: str | None = None) -> go.Figure:
    """One dot per output (model on the y axis) with the metric's interval as error bars.

    ``scores`` is :func:`dembias.read.queries.scorecard`'s frame (columns model, metric, metric_low, metric_high).
    Baselines (model ``baseline:...``) are grey; real models blue.
    """
    frame = scores.dropna(subset=[metric]).sort_values(metric)
    low = frame.get(f"{metric}_low", frame[metric])
    high = frame.get(f"{metric}_high", frame[metric])
    colours = [BASELINE_COLOUR if str(m).startswith("baseline:") else MODEL_COLOUR for m in frame["model"]]
    fig = go.Figure(
        go.Scatter(
            x=frame[metric],
            y=[safe_hover(m, max_chars=50) for m in frame["model"]],
            mode="markers",
            marker={"size": 11, "color": colours},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (high.fillna(frame[metric]) - frame[metric]).clip(lower=0),
                "arrayminus": (frame[metric] - low.fillna(frame[metric])).clip(lower=0),
                "color": "#495057",
                "thickness": 1.5,
            },
            hovertemplate="%{y}<br>%{x:.3f}<extra></extra>",
        )
    )
    base_layout(fig, title=title, height=max(220, 42 * len(frame) + 90))
    fig.update_xaxes(gridcolor="#EEEEEE", zeroline=True, zerolinecolor="#CED4DA")
    fig.update_layout(showlegend=False)
    return fig
