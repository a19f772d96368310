"""The sidebar every page opens with: the pickers that make the :class:`~pages.ui.state.Selection` (debate, summary,
runs), the figure format, the glossary, the selected runs' parameters and staleness; and the head of a page about
one scored summary (:func:`summary_page`)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dembias.read.vocabulary import GLOSSARY
from dembias.workspace.folder import Workspace
from pages.ui import cache
from pages.ui.access import password_gate
from pages.ui.render import quality_badge, verdict_box
from pages.ui.state import Selection, kept, link_notices, remember, set_params, workspace
from pages.ui.text import plain
from pages.ui.widgets import FIGURE_FORMATS, url_widget

_RUN_KINDS = {"mapping": "Opinion map", "pluralism": "Pluralism scoring", "fidelity": "Fidelity scoring"}


def sidebar() -> Selection | None:
    """Render the sidebar pickers (debate, summary, runs) and mirror them in the URL."""
    password_gate()
    ws = workspace()
    if not ws.exists():
        st.error(f"No workspace at {ws.root}. Build the demo with `dembias demo` or set DEMBIAS_WORKSPACE.")
        return None
    ver = cache.version(ws)
    table = cache.debates(str(ws.root), ver)
    if table.empty:
        st.warning("The workspace holds no debate yet: ingest one with `dembias ingest`.")
        return None
    with st.sidebar:
        debate_id = _pick_debate(table)
        output_id, labels = _pick_summary(ws, ver, debate_id)
        with st.expander("Runs", expanded=False):
            mapping_run = _run_picker(ws, ver, "mapping", debate_id, "Opinion map run", "map")
            pluralism_run = _run_picker(ws, ver, "pluralism", debate_id, "Pluralism scoring run", "prun", mapping_run)
            fidelity_run = _run_picker(ws, ver, "fidelity", debate_id, "Fidelity scoring run", "frun", mapping_run)
        url_widget(
            st.radio,
            "Save figures as",
            FIGURE_FORMATS,
            key="figfmt",
            horizontal=True,
            help="The camera button above each chart saves it in this format (SVG keeps text as text).",
        )
        glossary()
    link_notices()
    set_params(debate=debate_id, output=output_id, map=mapping_run, prun=pluralism_run, frun=fidelity_run)
    _selected_runs_notes(str(ws.root), ver, tuple(r for r in (mapping_run, pluralism_run, fidelity_run) if r))
    return Selection(
        ws=ws,
        debate_id=debate_id,
        output_id=output_id,
        mapping_run=mapping_run,
        pluralism_run=pluralism_run,
        fidelity_run=fidelity_run,
        output_label=labels.get(output_id) if output_id else None,
    )


def _pick_debate(table: pd.DataFrame) -> str:
    """The debate picker, each debate named with the start of its title."""
    ids = table["debate_id"].tolist()
    titles = dict(zip(table["debate_id"], table["title"], strict=True))
    return kept(
        "debate",
        st.selectbox("Debate", ids, key=remember("debate", ids), format_func=lambda d: f"{d} — {titles[d][:40]}"),
    )


def _pick_summary(ws: Workspace, ver: cache.Version, debate_id: str) -> tuple[str | None, dict[str, str]]:
    """The summary picker (real models first, baselines after them); the chosen id (None without a summary) and the
    label of every summary."""
    out = cache.outputs(str(ws.root), ver, debate_id)
    summaries = out[out["task"] == "summary"].copy()
    # real model outputs first, baselines (model "baseline:...") after them
    summaries["_baseline"] = summaries["model"].str.startswith("baseline:")
    summaries["_model"] = summaries["model"].str.lower()
    summaries = summaries.sort_values(["_baseline", "_model"], kind="stable")
    output_ids = summaries["output_id"].tolist()
    labels = {r.output_id: f"{r.model} · {r.n_units} units" for r in summaries.itertuples()}
    if not output_ids:
        return None, labels
    picked = st.selectbox("Summary to audit", output_ids, key=remember("output", output_ids), format_func=labels.get)
    return kept("output", picked), labels


def _run_picker(
    ws: Workspace, ver: cache.Version, stage: str, debate_id: str, label: str, key: str, using: str | None = None
) -> str | None:
    """A picker of a debate's runs of one stage; by default the newest built on run ``using``."""
    options = cache.runs(str(ws.root), ver, stage, debate_id)
    run_ids = [r["run_id"] for r in options]
    if not run_ids:
        return None
    preferred = next((r["run_id"] for r in options if using and using in r["inputs"]), run_ids[0])
    return kept(key, st.selectbox(label, run_ids, key=remember(key, run_ids, preferred)))


def _selected_runs_notes(root: str, ver: cache.Version, run_ids: tuple[str, ...]) -> None:
    """A warning on the page for each selected run whose debate changed since it read it, and the runs' parameters
    in the sidebar (next to the run pickers, not above the page's title and finding)."""
    for note in cache.stale_notes(root, ver, run_ids):
        st.warning(note, icon="⚠️")
    with st.sidebar:
        run_parameters_expander(root, ver, run_ids)


def glossary() -> None:
    """The glossary (dembias.read.vocabulary.GLOSSARY, the text of docs/glossary.md), in the sidebar of every page."""
    with st.expander("Glossary", expanded=False):
        for term, text in GLOSSARY.items():
            st.markdown(f"**{plain(term)}** — {text}")


def run_parameters_expander(root: str, version: cache.Version, run_ids: tuple[str, ...]) -> None:
    """A collapsed "Run parameters" expander: how each selected run was made, and from which corpus version."""
    tables = cache.run_parameter_tables(root, version, run_ids)
    if not tables:
        return
    with st.expander("Run parameters", expanded=False):
        st.caption(
            "How the runs behind these numbers were made: their parameters, the runs they read, and the "
            "version of the debate (a fingerprint of its texts, moderation and votes) they were computed from."
        )
        for run_id in run_ids:
            table = tables.get(run_id)
            if table is None:
                continue
            stage = table.loc[table["parameter"] == "stage", "value"].iloc[0]
            st.markdown(f"**{plain(_RUN_KINDS.get(stage, stage))}** · {plain(run_id)}")
            # a static key-value table (st.table renders markdown: every cell goes through plain())
            st.table(table.map(plain).set_index("section"), border="horizontal")


def summary_page(title: str) -> Selection:
    """Open a page about one scored summary: sidebar, title, the finding, the summary's name and quality badge.

    Stops the page (with what to run) when the debate has no summary, opinion map or pluralism scoring run.
    """
    sel = sidebar()
    if sel is None:
        st.stop()
    st.title(title)
    verdict_box(sel)
    if not (sel.output_id and sel.mapping_run and sel.pluralism_run):
        st.info("This view needs a summary, an opinion map and a pluralism scoring run (`dembias score pluralism`).")
        st.stop()
    st.caption(f"Summary: {plain(sel.output_label)}")
    quality_badge(sel)
    return sel
