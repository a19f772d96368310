"""What a page says in its own words: the finding first under its title, the degenerate-output warning, the
summary's sentences with their chips (HTML, user text escaped), and the one-page audit report."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dembias.read.page_findings import unscored_finding
from dembias.read.report_html import summary_sentences_html
from dembias.workspace.folder import Workspace
from pages.ui import cache
from pages.ui.access import stop_on_error
from pages.ui.state import Selection
from pages.ui.text import plain


def quality_badge(sel: Selection) -> None:
    """A visible warning when the selected summary is degenerate (its quality flags, each with its sentence)."""
    if not (sel.pluralism_run and sel.output_id):
        return
    quality = cache.output_quality(sel.root, sel.pluralism_run, sel.output_id)
    flags = quality.get("quality_flags") or []
    if flags:
        notes = " ".join(quality.get("quality_notes") or [])
        st.warning(
            f"**Degenerate output** ({', '.join(f.replace('_', ' ') for f in flags)}): {plain(notes)} "
            "Its scores say what it carries, which is little; read them as a finding about the model.",
            icon="⚠️",
        )


def verdict_box(sel: Selection | None) -> None:
    """The finding for the selected summary, first on the page (written by :mod:`dembias.read.verdict`)."""
    if sel is None:
        return
    if not (sel.pluralism_run and sel.output_id):
        unscored_box(sel)
        return
    finding(cache.verdict(sel.root, sel.pluralism_run, sel.output_id))


def unscored_box(sel: Selection) -> None:
    """The finding of a debate without a scored summary: what it holds, and where it is audited."""
    held = cache.debate_counts(sel.root, sel.debate_id, sel.mapping_run, None)
    finding(unscored_finding(sel.debate_id, held, has_fidelity=bool(sel.fidelity_run)))


def summary_text(sel: Selection | None, *, height: int = 420) -> None:
    """The selected summary's own text, sentence by sentence, each with its chips (dembias.read.verdict.sentence_chips).

    Every piece of user text (the sentence, topic labels) is escaped before any markup is added.
    """
    if sel is None or not (sel.pluralism_run and sel.mapping_run and sel.output_id):
        return
    frame = cache.summary_sentences(
        sel.root, pluralism_run=sel.pluralism_run, mapping_run=sel.mapping_run, output_id=sel.output_id
    )
    if frame.empty:
        st.caption("This scoring run holds no sentences for the selected summary.")
        return
    st.html(summary_html(frame, height=height))


def summary_html(frame: pd.DataFrame, *, height: int = 420) -> str:
    """HTML of a summary's sentences with their chips: the library's one renderer (dembias.read.report_html), also used
    by the one-page report; user text escaped."""
    return summary_sentences_html(frame, height=height)


def finding(text: str | None) -> None:
    """A page's finding, first under its title (text written by the library: dembias.read.verdict, page_findings)."""
    if text:
        st.info("**Finding.** " + plain(text))


@stop_on_error
def audit_report_html(root: str, debate_id: str, output_id: str, pluralism_run: str, fidelity_run: str | None) -> str:
    """The self-contained HTML audit report of one summary, from the selected runs."""
    from dembias.read.report import build_report, report_html

    report = build_report(
        Workspace(root),
        debate_id=debate_id,
        output_id=output_id,
        pluralism_run=pluralism_run,
        fidelity_run=fidelity_run,
    )
    return report_html(report)


@stop_on_error
def audit_report_pdf(root: str, debate_id: str, output_id: str, pluralism_run: str, fidelity_run: str | None) -> bytes:
    """The audit report printed to A4 PDF by headless Chromium."""
    from dembias.read.report import html_to_pdf

    return html_to_pdf(audit_report_html(root, debate_id, output_id, pluralism_run, fidelity_run))
