"""Polis-style bars: how each vote group voted on a set of contributions (agree, disagree, pass, with n)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dembias.plots.style import base_layout

#: Okabe-Ito bluish green and vermilion (told apart with any colour vision), a neutral grey for pass.
VOTE_COLOURS = {"agree": "#009E73", "disagree": "#D55E00", "pass": "#BBBBBB"}


def group_row_label(row: pd.Series) -> str:
    """The y label of one vote group: its number and n (voters, votes), or why its bar is withheld."""
    if row["suppressed"]:
        return f"group {int(row['vote_group'])} — {int(row['n_voters'])} voters: too few to show"
    return f"group {int(row['vote_group'])} (n = {int(row['n_voters'])} voters, {int(row['n_votes'])} votes)"


def vote_bars_figure(rates: pd.DataFrame, *, title: str | None = None) -> go.Figure:
    """Horizontal stacked bars, one per vote group: shares of agree, disagree and pass (in %).

    ``rates`` is :func:`dembias.read.left_out.vote_rates`'s frame. A suppressed group (fewer than k voters)
    keeps its row, labelled with its n, and has no bar.
    """
    labels = [group_row_label(row) for _, row in rates.iterrows()]
    fig = go.Figure()
    for vote, colour in VOTE_COLOURS.items():
        shares = (rates[vote].astype(float) * 100).round(1)
        fig.add_trace(
            go.Bar(
                y=labels,
                x=shares,
                name=vote,
                orientation="h",
                marker={"color": colour},
                text=[f"{v:.0f}%" if pd.notna(v) and v >= 6 else "" for v in shares],
                textposition="inside",
                insidetextanchor="middle",
                hovertemplate=f"%{{y}}<br>{vote}: %{{x:.1f}}%<extra></extra>",
            )
        )
    base_layout(fig, title=title, height=max(140, 46 * len(rates) + 90))
    fig.update_layout(
        barmode="stack",
        legend={"traceorder": "normal", "title": {"text": "vote"}},
        margin={"l": 10, "r": 10, "b": 10},
    )
    fig.update_xaxes(range=[0, 100], ticksuffix="%", gridcolor="#EEEEEE")
    fig.update_yaxes(autorange="reversed")
    return fig
