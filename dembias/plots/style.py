"""Shared look of the figures: palette, layout, and escaping of user text in hovers."""

from __future__ import annotations

import html
import re
from functools import lru_cache

import plotly.graph_objects as go

#: Qualitative palette (colour-blind friendly, Okabe-Ito first, then Tableau).
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#B07AA1",
    "#76B7B2",
    "#EDC948",
    "#FF9DA7",
    "#9C755F",
    "#BAB0AC",
)
NOISE_COLOUR = "#C8C8C8"
#: Topics a summary dropped, on the opinion map: Okabe-Ito vermilion, drawn as diamonds (shape and colour, so
#: neither colour vision nor a greyscale print confuses them with the light grey of noise).
DROPPED_COLOUR = "#D55E00"
#: What fades out: dropped topics in the "what survives" view, everything else in "show what the summary dropped".
FADED_COLOUR = "#E3E3E3"
# dembias-cjk: the CJK web font the dashboard serves (.streamlit/config.toml), for Chinese labels and hover text
FONT = "Source Sans Pro, Helvetica, Arial, dembias-cjk, sans-serif"


def colour_for(index: int) -> str:
    """The palette colour of category ``index`` (cycled)."""
    return PALETTE[index % len(PALETTE)]


@lru_cache(maxsize=16)
def _wrapper(width: int) -> re.Pattern[str]:
    # greedy: up to ``width`` characters ending before a space or the end; a longer word is cut at ``width``
    return re.compile(rf"(.{{1,{width}}})(?: |$)|(.{{{width}}})")


def safe_hover(text: object, *, width: int = 70, max_chars: int = 280) -> str:
    """User text made inert for a plotly hover: truncated, HTML-escaped, wrapped with <br>.

    Whitespace (newlines included) collapses to single spaces, so no raw line break reaches the hover.
    A regular expression does the wrapping: ``textwrap`` took 75% of the time to build a 10k-point map.
    """
    raw = " ".join(("" if text is None else str(text)).split())
    if len(raw) > max_chars:
        raw = raw[: max_chars - 1] + "…"
    lines = [m.group(1) or m.group(2) for m in _wrapper(width).finditer(raw)] or [""]
    return "<br>".join(html.escape(line, quote=True) for line in lines)


def base_layout(fig: go.Figure, *, title: str | None = None, height: int = 560) -> go.Figure:
    """Apply the common layout to ``fig`` and return it."""
    fig.update_layout(
        title={"text": html.escape(title) if title else None, "x": 0.01, "xanchor": "left"},
        height=height,
        margin={"l": 10, "r": 10, "t": 50 if title else 10, "b": 10},
        font={"family": FONT, "size": 13},
        plot_bgcolor="white",
        paper_bgcolor="white",
        legend={"itemsizing": "constant", "bgcolor": "rgba(255,255,255,0.8)"},
        hoverlabel={"bgcolor": "white", "font": {"family": FONT, "size": 12}, "align": "left"},
    )
    return fig


def figure_file_name(*parts: str | None) -> str:
    """A saved chart's file name that says which: its parts (what, debate, output) as safe slugs joined by ``_``."""
    slugs = [re.sub(r"[^A-Za-z0-9.]+", "-", str(p)).strip("-.") for p in parts if p]
    return "_".join(s for s in slugs if s)[:150] or "chart"


def with_title(fig: go.Figure, title: str, subtitle: str | None = None) -> go.Figure:
    """Give ``fig`` a title (and a smaller line under it, e.g. the debate and the output) so a saved image says
    what it shows; both are escaped (Plotly renders tags in titles)."""
    text = html.escape(title) + (f"<br><span style='font-size:12px'>{html.escape(subtitle)}</span>" if subtitle else "")
    top = max(int(fig.layout.margin.t or 0), 70 if subtitle else 50)
    fig.update_layout(title={"text": text, "x": 0.01, "xanchor": "left"}, margin={"t": top})
    return fig
