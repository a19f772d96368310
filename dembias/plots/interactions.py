"""Bot-citizen interactions: outcome rates and the pull of suggestions, per group, with their intervals."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dembias.plots.style import base_layout, colour_for, safe_hover

OUTCOME_LABELS = {"acceptance": "accepted", "edit": "edited", "rejection": "rejected"}


def interaction_rates_figure(rates: pd.DataFrame, *, dimension: str) -> go.Figure:
    """Acceptance, edit and rejection rates per value of ``dimension`` with 95% interval bars.

    ``rates`` is the ``rates`` table of a scored interactions run; suppressed slices are not drawn.
    """
    part = rates[(rates["dimension"] == dimension) & ~rates["suppressed"].astype(bool)]
    names = [f"{safe_hover(v, max_chars=30)} (n={n})" for v, n in zip(part["value"], part["n"], strict=True)]
    fig = go.Figure()
    for index, (name, label) in enumerate(OUTCOME_LABELS.items()):
        rate = part[f"{name}_rate"]
        fig.add_trace(
            go.Bar(
                x=names,
                y=rate,
                name=label,
                marker={"color": colour_for(index)},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": part[f"{name}_high"] - rate,
                    "arrayminus": rate - part[f"{name}_low"],
                },
                hovertemplate=label + " %{y:.0%}<extra></extra>",
            )
        )
    base_layout(fig, height=400)
    fig.update_layout(barmode="group")
    fig.update_yaxes(title="share of interactions (95% Wilson interval)", tickformat=".0%", range=[0, 1])
    fig.update_xaxes(title=dimension.replace("_", " "))
    return fig


def interaction_pull_figure(pull: pd.DataFrame, *, dimension: str, metric: str = "pull_chars") -> go.Figure:
    """Mean pull per value of ``dimension`` (and all interactions) with its 95% bootstrap interval."""
    part = pull[
        (pull["metric"] == metric) & pull["dimension"].isin(["all", dimension]) & ~pull["suppressed"].astype(bool)
    ]
    names = [f"{safe_hover(v, max_chars=30)} (n={n})" for v, n in zip(part["value"], part["n"], strict=True)]
    fig = go.Figure(
        go.Scatter(
            x=part["mean"],
            y=names,
            mode="markers",
            marker={"size": 10, "color": colour_for(0)},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": part["high"] - part["mean"],
                "arrayminus": part["mean"] - part["low"],
            },
            hovertemplate="pull %{x:.2f}<extra></extra>",
        )
    )
    base_layout(fig, height=max(240, 40 * len(part) + 120))
    fig.update_xaxes(
        title="pull toward the suggestion (0 = kept the draft, 1 = took the suggestion)", range=[-0.6, 1.1]
    )
    fig.update_yaxes(autorange="reversed")
    return fig
