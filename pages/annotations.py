"""Annotations: the flags and notes of qualitative audits, to review and export."""

from __future__ import annotations

import streamlit as st

from dembias.read.page_findings import annotations_finding
from dembias.workspace.annotations import (
    LABELS,
    MAX_NOTE,
    TARGET_TYPES,
    Annotation,
    add_annotation,
    delete_annotation,
    list_annotations,
)
from pages.ui import render, widgets
from pages.ui.sidebar import sidebar
from pages.ui.text import plain

sel = sidebar()
if sel is None:
    st.stop()
st.title("Annotations")
render.finding(
    annotations_finding(list_annotations(sel.ws.state_path, debate_id=sel.debate_id), output_id=sel.output_id)
)
st.caption(
    "Flags and notes from audits of this workspace. They are stored in the dashboard's own state file "
    f"({sel.ws.state_path.name}), never in the corpus or the runs."
)

with st.expander("Add an annotation", expanded=False), st.form("new_annotation", clear_on_submit=True):
    col1, col2 = st.columns(2)
    target_type = col1.selectbox("What", TARGET_TYPES)
    target_id = col2.text_input("Id (contribution id, output id, cluster number...)", max_chars=200)
    label = st.selectbox("Label", LABELS)
    note = st.text_area("Note", max_chars=MAX_NOTE)
    col3, col4 = st.columns(2)
    author = widgets.author_input(col3, key="w_new_author")
    about = col4.checkbox(
        f"About the selected output ({plain(sel.output_label or 'none')})",
        value=bool(sel.output_id),
        disabled=not sel.output_id,
    )
    if st.form_submit_button("Save"):
        if not author:
            st.error("Give your name: every note records who wrote it.")
        else:
            st.session_state["annotation_author"] = author
            try:
                add_annotation(
                    sel.ws.state_path,
                    Annotation(
                        sel.debate_id,
                        target_type,
                        target_id,
                        label,
                        note=note,
                        author=author,
                        output_id=sel.output_id if about else None,
                    ),
                )
                st.toast("Annotation saved")
            except ValueError as exc:
                st.error(str(exc))

scope = widgets.choice("Show", ["this debate", "all debates"], key="ascope")
table = list_annotations(sel.ws.state_path, debate_id=sel.debate_id if scope == "this debate" else None)
labels = st.multiselect("Labels", LABELS, key="w_alabels")
if labels:
    table = table[table["label"].isin(labels)]
st.subheader(f"{len(table)} annotation(s)")
if table.empty:
    st.caption("Nothing to show: no annotation matches.")
else:
    first = ["label", "note", "target_type", "target_id", "output_id", "author", "created_at"]
    widgets.text_table(table[first + [c for c in table.columns if c not in first]])
    widgets.download(table, "annotations")
if not table.empty:
    with st.form("delete_annotation"):
        doomed = st.selectbox("Delete annotation", table["annotation_id"].tolist())
        if st.form_submit_button("Delete"):
            delete_annotation(sel.ws.state_path, doomed)
            st.rerun()
