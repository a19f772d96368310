"""The one-page audit report of one summary: its data (:func:`build_report`), a self-contained HTML file
(:func:`report_html`) and its PDF printed by headless Chromium (:func:`html_to_pdf`).

The HTML holds the verdict (:mod:`dembias.read.verdict`), the summary's own text sentence by sentence with its
chips (:func:`dembias.read.report_html.summary_sentences_html`, the dashboard's renderer), what it left out (topics
dropped or under-represented, with quotes; opinion groups under-represented, with their representative
comment), its coverage by vote group, country and language, the debate's rewrite fidelity by language pair,
and the runs (ids and parameters) every number comes from. Figures are inline SVG, the CJK font is embedded
as base64 when the text needs it, and nothing in it refers to another file or host. All user and model text
is escaped. Opens files read-only through :mod:`dembias.read.queries`.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dembias.errors import DembiasError
from dembias.read import queries
from dembias.read.report_html import (
    SUMMARY_CSS,
    IntervalRow,
    cjk_font_face,
    interval_chart_svg,
    needs_cjk,
    summary_sentences_html,
)
from dembias.read.verdict import model_label
from dembias.workspace.store import RunInfo, Workspace, list_runs

#: Debian's Chromium (override with $DEMBIAS_CHROMIUM); Playwright drives it, nothing is downloaded.
CHROMIUM = os.environ.get("DEMBIAS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]

#: The headline metrics of the report, in the reader's words (name, higher is better).
HEADLINES = {
    "survival": ("Topics carried (survival)", True),
    "minority_topic_survival": ("Smallest topics carried (minority topic survival)", True),
    "uer_topics": ("Under-representation of topics (UER)", False),
    "uer_opinion_groups": ("Under-representation of opinion groups (UER)", False),
    "coverage": ("Contributions covered", True),
}


class ReportError(DembiasError):
    """The report cannot be made: unknown debate or output, no scoring run, or no browser to print it."""


@dataclass(frozen=True)
class AuditReport:
    """Everything the one-page report shows, with the runs it was read from."""

    debate_id: str
    debate_title: str
    output_id: str
    model: str
    verdict: str
    headlines: pd.DataFrame
    sentences: pd.DataFrame
    topics_left_out: pd.DataFrame
    groups_left_out: pd.DataFrame
    opinion_groups: pd.DataFrame
    group_coverage: pd.DataFrame
    fidelity: pd.DataFrame
    runs: list[RunInfo] = field(default_factory=list)
    created_at: str = ""


def _mapping_run_of(pluralism: RunInfo) -> str:
    mapping = [r for r in pluralism.manifest.get("inputs", []) if str(r).startswith("mapping-")]
    if not mapping:
        raise ReportError(f"pluralism run {pluralism.run_id} names no mapping run among its inputs")
    return mapping[0]


def resolve_runs(
    ws: Workspace, *, debate_id: str, pluralism_run: str | None = None, fidelity_run: str | None = None
) -> tuple[RunInfo, str, RunInfo | None]:
    """The pluralism run (default the debate's newest), its mapping run id, and the fidelity run (default newest)."""
    plural = [r for r in list_runs(ws, stage="pluralism", debate_id=debate_id)]
    if pluralism_run:
        plural = [r for r in plural if r.run_id == pluralism_run]
    if not plural:
        which = f"run {pluralism_run}" if pluralism_run else "run"
        raise ReportError(
            f"no pluralism scoring {which} for debate {debate_id!r}: dembias score pluralism --debate {debate_id}"
        )
    fidelity = list_runs(ws, stage="fidelity", debate_id=debate_id)
    if fidelity_run:
        fidelity = [r for r in fidelity if r.run_id == fidelity_run]
        if not fidelity:
            raise ReportError(f"no fidelity run {fidelity_run!r} for debate {debate_id!r}")
    return plural[-1], _mapping_run_of(plural[-1]), (fidelity[-1] if fidelity else None)


def left_out(
    ws: Workspace, *, debate_id: str, pluralism_run: str, mapping_run: str, output_id: str, n_quotes: int = 2
) -> pd.DataFrame:
    """The topics a summary dropped or under-represents (:func:`dembias.read.left_out.left_out`, the one list every view
    uses), each with its ``n_quotes`` most-voted contributions as quotes.

    Columns: cluster, label, size, p_s, p_t, ratio, status, is_minority, quotes (list of texts), n_contributions.
    Quotes follow the one privacy rule (:func:`dembias.small_cells.public_attributes`): texts are public.
    """
    from dembias.read.left_out import left_out as left_out_items
    from dembias.read.left_out import left_out_contributions

    items = left_out_items(ws, pluralism_run=pluralism_run, mapping_run=mapping_run, output_id=output_id)
    topics = items[items["kind"] == "topic"].rename(columns={"id": "cluster"}).reset_index(drop=True)
    pages = [
        left_out_contributions(
            ws, debate_id=debate_id, mapping_run=mapping_run, kind="topic", ident=int(c), limit=n_quotes
        )
        for c in topics["cluster"]
    ]
    topics["quotes"] = [page.rows["text"].astype(str).tolist() for page in pages]
    topics["n_contributions"] = [int(page.total) for page in pages]
    return topics.drop(columns=["key", "kind"])


def _groups_left_out(ws: Workspace, debate_id: str, run_id: str, output_id: str, groups: pd.DataFrame) -> pd.DataFrame:
    """Under-represented opinion groups with their most representative comment (a small group's rates are withheld
    by the scoring run; its comments, public contributions, are shown as on every view)."""
    if groups.empty:
        return groups
    under = groups[groups["under_represented"].astype(bool)].copy()
    reps = queries.scored_table(ws, run_id, "representatives", output_id=output_id)
    if under.empty or reps.empty:
        return under.assign(quote=None, quote_covered=None)
    reps = reps.sort_values("representativeness", ascending=False).drop_duplicates("vote_group")
    texts = queries.contribution_texts(ws, debate_id=debate_id, contribution_ids=reps["contribution_id"].tolist())
    reps = reps.merge(texts[["contribution_id", "text"]], on="contribution_id", how="left")
    under = under.merge(reps[["vote_group", "text", "covered"]], on="vote_group", how="left")
    under["quote"] = under["text"]  # contributions are public: the one quote rule (dembias.small_cells)
    return under.rename(columns={"covered": "quote_covered"}).drop(columns=["text"])


def _fidelity_rows(ws: Workspace, fidelity: RunInfo | None) -> pd.DataFrame:
    """Mean similarity of the debate's rewrites by language pair (with interval and n), from the fidelity run."""
    if fidelity is None:
        return pd.DataFrame()
    table = queries.run_table(ws, fidelity.run_id, "aggregates")
    if table.empty:
        return table
    keep = (table["metric"] == "similarity") & (table["dimension"] == "language_pair")
    return table[keep].sort_values("value").reset_index(drop=True)


def _headlines(scores: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for metric, (title, higher) in HEADLINES.items():
        row = scores[scores["metric"] == metric]
        if row.empty:
            continue
        placebo = scores[scores["metric"] == f"placebo:{metric}"]
        rows.append(
            {
                "metric": metric,
                "title": title,
                "higher_is_better": higher,
                "value": float(row["value"].iloc[0]),
                "low": float(row["low"].iloc[0]) if pd.notna(row["low"].iloc[0]) else math.nan,
                "high": float(row["high"].iloc[0]) if pd.notna(row["high"].iloc[0]) else math.nan,
                "placebo": float(placebo["value"].iloc[0]) if not placebo.empty else math.nan,
            }
        )
    return pd.DataFrame(rows)


def _debate_title(ws: Workspace, debate_id: str) -> str:
    debates = queries.debates_table(ws)
    row = debates[debates["debate_id"] == debate_id]
    if row.empty:
        known = ", ".join(debates["debate_id"].astype(str)) or "none"
        raise ReportError(f"unknown debate {debate_id!r} (debates in the workspace: {known})")
    return str(row["title"].iloc[0] or "")


def build_report(
    ws: Workspace,
    *,
    debate_id: str,
    output_id: str,
    pluralism_run: str | None = None,
    fidelity_run: str | None = None,
    n_quotes: int = 2,
) -> AuditReport:
    """Read everything the one-page report of ``output_id`` shows (newest runs of the debate unless named)."""
    title = _debate_title(ws, debate_id)
    plural, mapping_run, fidelity = resolve_runs(
        ws, debate_id=debate_id, pluralism_run=pluralism_run, fidelity_run=fidelity_run
    )
    tables = {
        t: queries.scored_table(ws, plural.run_id, t, output_id=output_id)
        for t in ("outputs", "scores", "opinion_groups", "group_coverage")
    }
    if tables["outputs"].empty:
        raise ReportError(
            f"output {output_id!r} is not scored in run {plural.run_id} of debate {debate_id!r} "
            f"(its summaries: {', '.join(queries.run_table(ws, plural.run_id, 'outputs')['output_id'])})"
        )
    sentences = queries.summary_sentences(ws, pluralism_run=plural.run_id, mapping_run=mapping_run, output_id=output_id)
    groups = (
        tables["opinion_groups"].sort_values("vote_group") if not tables["opinion_groups"].empty else pd.DataFrame()
    )
    mapping = [r for r in list_runs(ws, stage="mapping", debate_id=debate_id) if r.run_id == mapping_run]
    return AuditReport(
        debate_id=debate_id,
        debate_title=title,
        output_id=output_id,
        model=str(tables["outputs"]["model"].iloc[0]),
        verdict=queries.verdict(ws, plural.run_id, output_id),
        headlines=_headlines(tables["scores"]),
        sentences=sentences,
        topics_left_out=left_out(
            ws,
            debate_id=debate_id,
            pluralism_run=plural.run_id,
            mapping_run=mapping_run,
            output_id=output_id,
            n_quotes=n_quotes,
        ),
        groups_left_out=_groups_left_out(ws, debate_id, plural.run_id, output_id, groups),
        opinion_groups=groups,
        group_coverage=tables["group_coverage"],
        fidelity=_fidelity_rows(ws, fidelity),
        runs=[*mapping, plural, *([fidelity] if fidelity else [])],
        created_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


# ---------------------------------------------------------------- HTML

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


# ---------------------------------------------------------------- PDF


def chromium_available(chromium: str = CHROMIUM) -> bool:
    """Whether a PDF can be printed here (the Chromium binary and the playwright package are both present)."""
    import importlib.util

    return Path(chromium).is_file() and importlib.util.find_spec("playwright") is not None


def html_to_pdf(document: str, *, chromium: str = CHROMIUM) -> bytes:
    """Print an HTML document to A4 PDF in headless Chromium (Playwright); every network request is refused.

    Raises :class:`ReportError` when Playwright or the Chromium binary is missing.
    """
    if not Path(chromium).is_file():
        raise ReportError(
            f"cannot print to PDF: no Chromium at {chromium} (install Debian's chromium, or set $DEMBIAS_CHROMIUM); "
            "the HTML report (--format html) needs no browser"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise ReportError(
            "cannot print to PDF: the playwright package is not installed (pip install playwright)"
        ) from exc
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.abort())  # a self-contained file needs nothing else
            page.set_content(document, wait_until="load")
            page.evaluate("document.fonts.ready")
            return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()


def write_report(
    ws: Workspace,
    *,
    debate_id: str,
    output_id: str,
    out: Path,
    fmt: str = "html",
    pluralism_run: str | None = None,
    fidelity_run: str | None = None,
) -> Path:
    """Build the report and write it to ``out`` as HTML or PDF (``fmt``); returns ``out``."""
    if fmt not in ("html", "pdf"):
        raise ReportError(f"--format must be html or pdf, not {fmt!r}")
    report = build_report(
        ws, debate_id=debate_id, output_id=output_id, pluralism_run=pluralism_run, fidelity_run=fidelity_run
    )
    document = report_html(report)
    data = html_to_pdf(document) if fmt == "pdf" else document.encode("utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return out


def default_file_name(debate_id: str, model: str, fmt: str) -> str:
    """``audit_<debate>_<model>.<fmt>``, with characters unsafe in a file name replaced."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in f"audit_{debate_id}_{model_label(model)}")
    return f"{safe}.{fmt}"
