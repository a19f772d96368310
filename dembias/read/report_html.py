"""HTML pieces shared by the dashboard and the audit report: one renderer each, user text always escaped.

* :func:`summary_sentences_html`: a summary's sentences with their chips (:func:`dembias.read.verdict.sentence_chips`),
  used by the Overview, the map page and the one-page report.
* :func:`interval_chart_svg`: values with their 95% intervals as an inline SVG (no script, no external file),
  for the report's coverage and fidelity figures.
* :func:`cjk_font_face`: the bundled CJK font as a base64 ``@font-face`` (so Chinese renders in a file that
  makes no request), only when the text needs it.

Every string that comes from citizens or models (sentences, topic labels, group names, country codes) goes
through :func:`html.escape` before any markup is added. Pure: no I/O except reading the bundled font.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

#: Colours of the chips, by kind (dembias.read.verdict.sentence_chips).
CHIP_STYLE = {
    "topic": "background:#e7f5ff;color:#1864ab",
    "group": "background:#f3f0ff;color:#5f3dc4",
    "free": "background:#f1f3f5;color:#495057",
    "repeat": "background:#fff4e6;color:#d9480f",
    "unsupported": "background:#fff5f5;color:#c92a2a",
    "nothing": "background:#f8f9fa;color:#868e96",
}

SUMMARY_CSS = (
    "ol.summary{list-style:none;padding:0;margin:0}"
    "li.sent{display:grid;grid-template-columns:2.4em 1fr;padding:0.35em 0;border-bottom:1px solid #eee}"
    "li.sent.faded .txt{color:#868e96}"
    ".num{color:#868e96;font-size:0.85em;padding-top:0.15em}"
    ".txt{white-space:pre-wrap}"
    ".chip{display:inline-block;font-size:0.78em;border-radius:0.8em;padding:0 0.6em;margin:0.15em 0.3em 0 0}"
)


def _is_set(value: object) -> bool:
    return value is not None and value is not pd.NA and not (isinstance(value, float) and math.isnan(value))


def summary_sentences_html(frame: pd.DataFrame, *, height: int | None = 420, style: bool = True) -> str:
    """HTML of a summary's sentences with their chips (rows of :func:`dembias.read.queries.summary_sentences`).

    ``height`` caps the list's height with a scroll bar (None: no cap, as in a printed report); ``style``
    prepends the ``<style>`` block (the report includes :data:`SUMMARY_CSS` in its own).
    """
    from dembias.read.verdict import sentence_chips

    rows = []
    for row in frame.to_dict("records"):
        chips = "".join(
            f"<span class='chip chip-{html.escape(kind)}' style='{CHIP_STYLE.get(kind, '')}'>{html.escape(text)}</span>"
            for kind, text in sentence_chips(row)
        )
        repeat = _is_set(row.get("duplicate_of")) and int(row["duplicate_of"]) >= 0
        free = _is_set(row.get("content_free")) and bool(row["content_free"])
        faded = " faded" if free or repeat else ""
        rows.append(
            f"<li class='sent{faded}'><span class='num'>{int(row['unit_index']) + 1}</span>"
            f"<div><div class='txt'>{html.escape(str(row['text']))}</div><div>{chips}</div></div></li>"
        )
    body = f"<ol class='summary'>{''.join(rows)}</ol>"
    if height is not None:
        body = f"<div style='max-height:{int(height)}px;overflow-y:auto'>{body}</div>"
    return (f"<style>{SUMMARY_CSS}</style>" if style else "") + body


@dataclass(frozen=True)
class IntervalRow:
    """One line of an interval chart: a label, a value with its 95% interval (NaN when none), and its n."""

    label: str
    value: float
    low: float = math.nan
    high: float = math.nan
    n: int | None = None
    note: str = ""


def _fmt(x: float, percent: bool) -> str:
    if not _is_set(x):
        return "–"
    return f"{100 * x:.0f}%" if percent else f"{x:.2f}"


def _row_text(row: IntervalRow, percent: bool) -> str:
    text = _fmt(row.value, percent)
    if _is_set(row.low) and _is_set(row.high):
        text += f" [{_fmt(row.low, percent)}, {_fmt(row.high, percent)}]"
    if row.n is not None:
        text += f" n={row.n}"
    return text + (f" {row.note}" if row.note else "")


def interval_chart_svg(
    rows: Sequence[IntervalRow], *, x_max: float = 1.0, percent: bool = True, width: int = 360, title: str = ""
) -> str:
    """An inline SVG: one line per row, a bar to its value, a whisker over its interval, the numbers as text.

    Rows without a value (withheld small cells) keep their line with their note and no bar. Labels are escaped.
    """
    label_w, text_w, line_h = 95, 165, 16
    plot_w = max(40, width - label_w - text_w)
    height = line_h * len(rows) + 6

    def x(v: float) -> float:
        return label_w + plot_w * min(max(v / x_max if x_max else 0.0, 0.0), 1.0)

    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' class='ichart' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='{html.escape(title)}'>",
        f"<line x1='{label_w}' y1='0' x2='{label_w}' y2='{height}' stroke='#adb5bd' stroke-width='0.6'/>",
    ]
    for i, row in enumerate(rows):
        y = 3 + i * line_h
        mid = y + line_h / 2
        parts.append(
            f"<text x='{label_w - 4}' y='{mid + 3.5}' text-anchor='end' font-size='10'>{html.escape(row.label[:20])}</text>"
        )
        if _is_set(row.value):
            parts.append(
                f"<rect x='{label_w}' y='{y + 3}' width='{x(row.value) - label_w:.1f}' height='{line_h - 6}' fill='#74c0fc'/>"
            )
        if _is_set(row.low) and _is_set(row.high):
            parts.append(
                f"<line x1='{x(row.low):.1f}' y1='{mid}' x2='{x(row.high):.1f}' y2='{mid}' stroke='#1c2b36' stroke-width='1.2'/>"
            )
        parts.append(
            f"<text x='{label_w + plot_w + 4}' y='{mid + 3.5}' font-size='9.5' fill='#343a40'>"
            f"{html.escape(_row_text(row, percent))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


#: The bundled CJK font (static/fonts, see its README); None of the families below may fetch anything.
CJK_FONT = Path(__file__).resolve().parent.parent.parent / "static" / "fonts" / "wqy-microhei.woff2"
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def needs_cjk(text: str) -> bool:
    """Whether ``text`` holds Chinese, Japanese or Korean characters."""
    return bool(_CJK.search(text))


def cjk_font_face(*, family: str = "dembias-cjk", font: Path = CJK_FONT) -> str:
    """A CSS ``@font-face`` carrying the bundled CJK font as a base64 data URL ('' when the font is not found)."""
    if not font.is_file():
        return ""
    data = base64.b64encode(font.read_bytes()).decode("ascii")
    return f"@font-face{{font-family:'{family}';src:url(data:font/woff2;base64,{data}) format('woff2');}}"
