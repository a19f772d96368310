"""The audit report as one self-contained HTML document (:func:`report_html`): inline CSS and SVG figures, the CJK
font embedded as base64 when the text needs it, nothing that refers to another file or host, all user and model
text escaped. The summary's sentences use the dashboard's renderer (:func:`dembias.read.report_html.summary_sentences_html`).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from dembias.read.report.data import AuditReport
from dembias.read.report_html import (
    SUMMARY_CSS,
    IntervalRow,
    cjk_font_face,
    interval_chart_svg,
    needs_cjk,
    summary_sentences_html,
)
from dembias.read.verdict import model_label

REPORT_CSS = """
@page{size:A4;margin:9mm 10mm}
*{box-sizing:border-box}
body{font-family:'Source Sans Pro','Helvetica Neue',Arial,'dembias-cjk',sans-serif;color:#1c2b36;font-size:10pt;
     line-height:1.3;margin:0 auto;max-width:980px;padding:12px}
h1{font-size:14pt;margin:0 0 2px} h2{font-size:10.5pt;margin:8px 0 3px;border-bottom:1px solid #dee2e6}
.meta,.src{color:#6c757d;font-size:8pt}
.verdict{background:#e7f5ff;border-left:4px solid #1971c2;padding:5px 8px;margin:6px 0;font-size:10.5pt}
.flow{column-count:2;column-gap:14px} h2{break-after:avoid} .keep,li.sent,tr,svg{break-inside:avoid}
table{border-collapse:collapse;width:100%;font-size:8.5pt} td,th{padding:1px 4px;text-align:left;vertical-align:top}
th{color:#495057;font-weight:600;border-bottom:1px solid #ced4da} tr+tr td{border-top:1px solid #f1f3f5}
.num{white-space:nowrap}
.quote{border-left:2px solid #ced4da;padding-left:5px;margin:1px 0 3px 4px;color:#343a40;font-size:8.5pt}
.status-dropped{color:#c92a2a;font-weight:600} .status-under-represented{color:#e8590c;font-weight:600}
.params{font-size:7pt;color:#495057;margin-bottom:3px}
svg.ichart{display:block;margin:1px 0 4px}
@media print{body{font-size:8.4pt;padding:0;max-width:none} .verdict{font-size:9pt} h1{font-size:12pt}
  h2{font-size:9pt;margin-top:5px} table{font-size:7.4pt} .quote{font-size:7.4pt}
  li.sent{padding:0.08em 0} li.sent>div>div{display:inline} .txt{margin-right:0.4em} .chip{font-size:0.72em;margin-top:0}
  .params{font-size:6.2pt}}
"""


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _pct(x: float) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.0f}%"


def _headline_value(row: Mapping[str, Any]) -> str:
    fmt = _pct if row["higher_is_better"] else (lambda v: "–" if math.isnan(v) else f"{v:.3f}")
    text = fmt(row["value"])
    if not (math.isnan(row["low"]) or math.isnan(row["high"])):
        text += f" [{fmt(row['low'])}, {fmt(row['high'])}]"
    return text


def _headlines_html(report: AuditReport) -> str:
    if report.headlines.empty:
        return "<p class='meta'>No headline scores in this run.</p>"
    rows = "".join(
        f"<tr><td>{_esc(r['title'])}</td><td class='num'>{_esc(_headline_value(r))}</td>"
        f"<td class='num'>{_esc(_headline_value({**r, 'value': r['placebo'], 'low': math.nan}))}</td></tr>"
        for r in report.headlines.to_dict("records")
    )
    return (
        "<table><tr><th>Measure (lower UER is better)</th><th>Value [95% interval]</th>"
        f"<th>Random links (placebo)</th></tr>{rows}</table>"
    )


def _topic_html(row: Mapping[str, Any]) -> str:
    label = row.get("label") or f"topic {int(row['cluster'])}"
    status = str(row["status"])
    kind = " · one of the smallest topics" if bool(row["is_minority"]) else ""
    quotes = "".join(f"<div class='quote'>“{_esc(q)}”</div>" for q in row["quotes"])
    if row["quotes"]:
        quotes += (
            f"<div class='meta'>{len(row['quotes'])} of its {int(row['n_contributions'])} contributions, most voted "
            "first; all of them on the dashboard's “What it left out” page.</div>"
        )
    return (
        f"<div><span class='status-{_esc(status)}'>{_esc(status)}</span> — <b>{_esc(label)}</b>{_esc(kind)} "
        f"<span class='meta'>({int(row['size'])} contributions, {_pct(row['p_s'])} of the debate, "
        f"{_pct(row['p_t'] if pd.notna(row['p_t']) else 0.0)} of the summary)</span>{quotes}</div>"
    )


def _group_html(row: Mapping[str, Any]) -> str:
    interval = ""
    if pd.notna(row.get("ratio_low")) and pd.notna(row.get("ratio_high")):
        interval = f" [{row['ratio_low']:.2f}, {row['ratio_high']:.2f}]"
    size = "a small group" if bool(row.get("small_cell")) else f"{int(row['n_participants'])} participants"
    text = (
        f"<div><span class='status-under-represented'>under-represented</span> — <b>opinion group "
        f"{int(row['vote_group'])}</b> <span class='meta'>({_esc(size)}; {_pct(row['p_t'] or 0.0)} of the sentences "
        f"that speak for a group for {_pct(row['p_s'])} of the participants: {row['ratio']:.2f} of its share"
        f"{_esc(interval)})</span>"
    )
    quote = row.get("quote")
    if isinstance(quote, str) and quote:
        kept = "carried by the summary" if bool(row.get("quote_covered")) else "not carried by the summary"
        text += f"<div class='quote'>“{_esc(quote)}” <span class='meta'>(its most representative comment, {kept})</span></div>"
    return text + "</div>"


def _left_out_html(report: AuditReport) -> str:
    topics = [_topic_html(r) for r in report.topics_left_out.to_dict("records")]
    groups = [_group_html(r) for r in report.groups_left_out.to_dict("records")] if len(report.groups_left_out) else []
    if not topics and not groups:
        return "<p>Every topic and every opinion group is carried in proportion.</p>"
    return "".join(f"<div class='keep'>{part}</div>" for part in groups + topics)


def _group_label(dimension: str, value: object) -> str:
    if dimension == "vote_group":
        try:
            return f"opinion group {int(float(str(value)))}"
        except ValueError:
            return str(value)
    return str(value)


def _coverage_html(report: AuditReport) -> str:
    """Per vote group, country and language: the mean chance a contribution is carried, with interval and n."""
    table = report.group_coverage
    if table.empty:
        return "<p class='meta'>No coverage by group in this run.</p>"
    names = {"vote_group": "By opinion group (votes)", "country": "By country", "language": "By language"}
    parts = []
    for dim, name in names.items():
        part = table[table["dimension"] == dim]
        if part.empty:
            continue
        rows = [
            IntervalRow(
                label=_group_label(dim, r["value"]),
                value=math.nan if r["suppressed"] else r["mean_coverage"],
                low=math.nan if r["suppressed"] else r["coverage_low"],
                high=math.nan if r["suppressed"] else r["coverage_high"],
                n=int(r["n"]),
                note="withheld: under 5 contributors" if r["suppressed"] else "",
            )
            for r in part.to_dict("records")
        ]
        parts.append(f"<div class='meta'>{_esc(name)}</div>" + interval_chart_svg(rows, title=name))
    return "".join(parts)


def _fidelity_html(report: AuditReport) -> str:
    if report.fidelity.empty:
        return "<p class='meta'>No fidelity run for this debate (dembias score fidelity).</p>"
    rows = [
        IntervalRow(label=str(r["value"]), value=r["mean"], low=r["low"], high=r["high"], n=int(r["n"]))
        for r in report.fidelity.to_dict("records")
    ]
    return (
        "<div class='meta'>Mean similarity of source and rewrite (cosine, multilingual embeddings), by language pair"
        "</div>" + interval_chart_svg(rows, percent=False, title="fidelity by language pair")
    )


def flat_params(params: Mapping[str, Any], *, prefix: str = "", max_text: int = 80) -> list[tuple[str, str]]:
    """A manifest's parameters as ``(dotted.key, value)`` pairs; prose notes longer than ``max_text`` are cut."""
    pairs: list[tuple[str, str]] = []
    for key in sorted(params):
        value = params[key]
        if isinstance(value, Mapping) and value:
            pairs += flat_params(value, prefix=f"{prefix}{key}.", max_text=max_text)
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        pairs.append((f"{prefix}{key}", text if len(text) <= max_text else text[: max_text - 1] + "…"))
    return pairs


def _runs_html(report: AuditReport) -> str:
    blocks = []
    for run in report.runs:
        params = "; ".join(f"{k}={v}" for k, v in flat_params(run.manifest.get("params", {})))
        blocks.append(
            f"<div class='keep run'><b>{_esc(run.run_id)}</b> <span class='meta'>({_esc(run.stage)}, made "
            f"{_esc(run.created_at)})</span><div class='params'>{_esc(params)}</div></div>"
        )
    return "".join(blocks)


def _sentences_html(report: AuditReport) -> str:
    if report.sentences.empty:
        return "<p class='meta'>This scoring run holds no sentences for the summary.</p>"
    return summary_sentences_html(report.sentences, height=None, style=False)


def report_html(report: AuditReport) -> str:
    """The report as one self-contained HTML document (inline CSS and SVG; the CJK font embedded when needed)."""
    plural = next((r.run_id for r in report.runs if r.stage == "pluralism"), "")
    fidelity = next((r.run_id for r in report.runs if r.stage == "fidelity"), "")
    body = f"""
<h1>Audit of the {_esc(model_label(report.model))} summary — {_esc(report.debate_id)}</h1>
<div class="meta">Debate “{_esc(report.debate_title)}” · output {_esc(report.output_id)} · model {_esc(report.model)}
 · made {_esc(report.created_at)} by dembias</div>
<div class="verdict"><b>Finding.</b> {_esc(report.verdict)}</div>
{_headlines_html(report)}
<div class="src">Scores from run {_esc(plural)}; 95% bootstrap intervals over contributions.</div>
<div class="flow">
<h2>The summary's own text, sentence by sentence</h2>{_sentences_html(report)}
<h2>What it left out</h2>{_left_out_html(report)}
<h2>Coverage: chance that a contribution is carried</h2>{_coverage_html(report)}
<h2>Fidelity of the debate's rewrites</h2>{_fidelity_html(report)}
<div class="src">{f"From run {_esc(fidelity)}." if fidelity else ""}</div>
<h2>Runs behind every number</h2>{_runs_html(report)}
</div>
"""
    font = cjk_font_face() if needs_cjk(body) else ""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>dembias audit — {_esc(report.debate_id)} — {_esc(model_label(report.model))}</title>"
        f"<style>{font}{REPORT_CSS}{SUMMARY_CSS}</style></head><body>{body}</body></html>"
    )
