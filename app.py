"""dembias dashboard: entry point (navigation) and the overview page.

Run with ``make app`` (or ``streamlit run app.py``). Reads the workspace named by ``$DEMBIAS_WORKSPACE``
(default ``data/workspace``) read-only; pages query, plot with ``dembias.plots`` and render.
"""

from __future__ import annotations

import streamlit as st

from dembias.errors import DembiasError
from dembias.plots import metric_dots_figure
from dembias.read.explain import METRICS, metric_help, metric_title
from dembias.read.report import chromium_available, default_file_name
from dembias.read.scorecard import format_scorecard, scorecard_numbers
from pages.ui import access, cache, render, state, widgets
from pages.ui.sidebar import sidebar
from pages.ui.text import command, plain

# An emoji page icon only: Streamlit fetches a ":material/...:" icon (the favicon) from fonts.gstatic.com, a request
# off the app's origin (a leak, and a failure offline); an emoji favicon is an inline data: URL. The navigation
# has no icons (emoji need a font that headless and minimal systems lack).
st.set_page_config(page_title="dembias", page_icon="⚖️", layout="wide")


def overview() -> None:
    """Debates with their counts, and the scorecard of every output of the selected debate."""
    sel = sidebar()
    st.title("dembias — democratic biases of language models in deliberation")
    st.caption(
        "Do minority opinions survive a model's summary? Does a rewrite or translation still say what its "
        "author said, equally well for every language and country?"
    )
    if sel is None:
        return
    render.verdict_box(sel)
    debates_table(sel)
    scorecard_section(sel)

    with st.expander("What the metrics mean", expanded=False):
        for title, text in METRICS.values():
            st.markdown(f"**{title}** — {text}")
    st.caption(f"Workspace: {sel.ws.root}")


def debates_table(sel: state.Selection) -> None:
    """Every debate of the workspace with the counts every page uses."""
    debates = cache.debates_overview(sel.root, cache.version(sel.ws))
    columns = [  # key columns first, the long title last: readable at 1280 px
        "debate_id",
        "contributions",
        "accepted",
        "mapped",
        "participants",
        "votes",
        "vote_groups",
        "outputs",
        "language",
        "country",
        "polis_groups",
        "title",
    ]
    st.subheader(f"Debates ({len(debates)})")
    st.caption(
        "Every count here is the one every page uses (dembias.read.counts): the map and the scores read every "
        "contribution not rejected, so 'on the map' can exceed 'accepted' (by moderators: unmoderated ones count too); "
        "vote groups are the map's, computed from the votes; Polis's own published groups are the last column."
    )
    widgets.text_table(debates[columns])


def scorecard_section(sel: state.Selection) -> None:
    """The selected debate's scorecard, its summary, the report buttons and the comparison of outputs."""
    st.subheader(f"Scorecard — {plain(sel.debate_id)}")
    controls(sel)
    if not sel.pluralism_run:
        st.info(
            f"No pluralism scoring run for {plain(sel.debate_id)} yet: "
            + command(f"dembias score pluralism --debate {sel.debate_id}")
            + "."
        )
    else:
        scores = cache.scorecard(sel.root, sel.pluralism_run)
        fidelity = cache.fidelity_by_model(sel.root, sel.fidelity_run) if sel.fidelity_run else None
        table = format_scorecard(scores, fidelity)
        st.caption(
            "Each value with its 95% bootstrap interval where one applies, and for topics the placebo: the same "
            "summary with its links redrawn at random. Topics are clusters of what was written; opinion groups are "
            "who agrees with what (votes). Baselines are models `baseline:*`."
        )
        widgets.text_table(  # the model stays in view, at a width that leaves room for the numbers at 1280 px
            table.drop(columns=["output_id"]),
            column_config={"Model": st.column_config.TextColumn("Model", width="medium", pinned=True)},
        )
        widgets.download(scorecard_numbers(scores), f"{sel.debate_id}-scorecard")
        widgets.left_out_link(sel, f"What the {widgets.short_model(sel)} summary left out: every contribution →")
        summary_text(sel)
        report_buttons(sel)
        metric = widgets.choice(
            "Compare outputs on",
            ["uer_topics", "minority_topic_gap", "survival", "uer_opinion_groups"],
            key="metric",
            format_func=metric_title,
        )
        widgets.chart(
            metric_dots_figure(scores, metric),
            key=f"dots-{metric}",
            title=metric_title(metric),
            sel=sel,
            of_output=False,
        )
        st.caption(metric_help(metric))
        unfair_per_model(sel)


def summary_text(sel: state.Selection) -> None:
    """The selected summary's own text under the scorecard: what each sentence carries, and what is empty."""
    if not (sel.output_id and sel.mapping_run):
        return
    st.markdown(f"**The summary's own text — {plain(sel.output_label)}**")
    st.caption(
        "Each sentence with the topics (clusters of what was written) and the opinion group it carries; "
        "sentences that say nothing specific, repeats and unsupported citations are marked."
    )
    render.summary_text(sel)


def report_buttons(sel: state.Selection) -> None:
    """The one-page audit report of the selected summary (dembias.read.report), as HTML, and as PDF where Chromium is."""
    if not (sel.output_id and sel.pluralism_run):
        return
    st.markdown("**One-page audit report of this summary**")
    left, right = st.columns(2)
    name = default_file_name(sel.debate_id, (sel.output_label or sel.output_id).split(" · ")[0], "html")
    args = (sel.root, sel.debate_id, sel.output_id, sel.pluralism_run, sel.fidelity_run)
    with left:
        st.download_button(
            "Audit report (HTML)",
            lambda: render.audit_report_html(*args).encode("utf-8"),
            file_name=name,
            mime="text/html",
            key="dl_report_html",
            help="One self-contained file: the finding, the summary's sentences, what it left out, coverage by group, "
            "country and language, fidelity, and the runs behind every number. It makes no request when opened.",
        )
    with right:
        if chromium_available():
            st.download_button(
                "Audit report (PDF, A4)",
                lambda: render.audit_report_pdf(*args),
                file_name=name.removesuffix(".html") + ".pdf",
                mime="application/pdf",
                key="dl_report_pdf",
            )
        else:
            st.caption("PDF: no Chromium on the server (`dembias report --format pdf` needs one).")


def controls(sel: state.Selection) -> None:
    """Whether this debate's numbers pass their controls (the latest ``dembias validate`` run)."""
    run_id = state.latest_run_id(sel, "validation")
    if run_id is None:
        st.info(
            "The controls have not been run for this debate: "
            + command(f"dembias validate --debate {sel.debate_id}")
            + " scores a vacuous, a title-only, an off-topic, a random-citation, a one-sided and an ideal summary."
        )
        return
    checks = cache.validation_checks(sel.root, run_id)
    failed = checks[~checks["passed"]]
    if failed.empty:
        st.success(
            f"Controls pass ({len(checks)} of {len(checks)} checks): vacuous, title-only, off-topic and "
            "random-citation texts carry nothing and are flagged; a one-sided summary shows the other opinion "
            "groups under-represented; the ideal extract does at least as well as every summary.",
        )
    else:
        st.error(
            f"{len(failed)} of {len(checks)} control checks fail for this debate: read its numbers with care.",
        )
    with st.expander("Control checks", expanded=not failed.empty):
        widgets.text_table(checks)


def unfair_per_model(sel: state.Selection) -> None:
    """BUR per model over each debate's latest pluralism run: a rate over summaries, never one summary's score."""
    debates = cache.debates(sel.root, cache.version(sel.ws))["debate_id"].tolist()
    latest = []
    for debate_id in debates:
        options = cache.runs(sel.root, cache.version(sel.ws), "pluralism", debate_id)
        if options:
            latest.append(options[0]["run_id"])
    table = cache.unfair_by_model(sel.root, tuple(latest))
    with st.expander("Unfair summaries per model (BUR, across debates)", expanded=False):
        st.caption(metric_help("unfair_topics") + " n: the summaries it is computed over.")
        widgets.text_table(
            table.rename(
                columns={
                    "model": "Model",
                    "bur_topics": "Unfair to a topic (share)",
                    "n_topics": "n summaries",
                    "bur_opinion_groups": "Unfair to an opinion group (share)",
                    "n_opinion_groups": "n summaries with votes",
                }
            )
        )


# Page files are named like their URL paths (see pages/ui/access.py, leave_pages_directory_mode). The navigation is
# built first (it leaves Streamlit's pages-directory mode) but hidden while the password gate is closed; the gate
# runs before any page does, and pages call it again through sidebar().
navigation = st.navigation(
    [
        st.Page(overview, title="Overview", default=True),
        st.Page("pages/map.py", title="Opinion map"),
        st.Page("pages/survival.py", title="Cluster survival"),
        st.Page("pages/minorities.py", title="Minorities"),
        st.Page("pages/left_out.py", title="What it left out"),
        st.Page("pages/fidelity.py", title="Fidelity"),
        st.Page("pages/interactions.py", title="Interactions"),
        st.Page("pages/compare.py", title="Compare"),
        st.Page("pages/across.py", title="Across debates"),
        st.Page("pages/rescoring.py", title="Rescoring"),
        st.Page("pages/annotations.py", title="Annotations"),
    ],
    position="sidebar" if access.unlocked() else "hidden",
)
access.password_gate()
try:
    navigation.run()
except DembiasError as exc:  # e.g. a corrupted run file: say which, and keep serving the other runs
    access.show_error(exc)
