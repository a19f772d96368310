"""Minorities: the opinion clusters and vote groups a summary drops or under-represents, and who they are."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dembias.pluralism.topics import representation_status
from dembias.read.explain import metric_help
from dembias.small_cells import BREAKDOWN_DIMENSIONS
from pages.ui import cache, state, widgets
from pages.ui.sidebar import summary_page
from pages.ui.text import plain

sel = summary_page("Marginalized minorities")
st.caption(
    "Three notions of minority, named apart: minority **topics** (the smallest clusters of what was written), "
    "minority **opinion groups** (who agrees with what, from the votes), and **declared groups** (a column of the "
    "data such as a self-reported minority: `dembias score pluralism --group-by COLUMN`)."
)

coverage = cache.cluster_coverage(
    sel.root, pluralism_run=sel.pluralism_run, mapping_run=sel.mapping_run, output_id=sel.output_id
)
clusters = coverage[coverage["cluster"] != -1].copy()
clusters["status"] = representation_status(clusters["covered"], clusters["ratio"])
marginalized = clusters[clusters["status"] != "represented"].sort_values(
    ["is_minority", "size"], ascending=[False, True]
)

opinion = cache.scored_table(sel.root, sel.pluralism_run, "opinion_groups", output_id=sel.output_id)
cols = st.columns(3)
cols[0].metric("Topics dropped", int((clusters["status"] == "dropped").sum()))
cols[1].metric("Topics under-represented", int((clusters["status"] == "under-represented").sum()))
if not opinion.empty:
    cols[2].metric(
        "Opinion groups under-represented",
        f"{int(opinion['under_represented'].sum())} of {len(opinion)}",
        help=metric_help("opinion_groups_under_represented"),
    )

st.subheader("Opinion groups")
if opinion.empty:
    st.caption(
        "No opinion groups for this debate (no votes): which side a sentence takes is not scored, and no judge "
        "model is configured to score it from the text."
    )
else:
    table = opinion.assign(
        group=opinion["vote_group"].astype(int).astype(str),
        interval=[f"{lo:.2f}-{hi:.2f}" for lo, hi in zip(opinion["ratio_low"], opinion["ratio_high"], strict=True)],
    )
    widgets.text_table(
        table[
            ["group", "n_participants", "p_s", "p_t", "ratio", "interval", "n_units_for", "under_represented"]
        ].rename(columns={"interval": "Ratio 95% interval"}),
        column_config={
            "p_s": st.column_config.NumberColumn(
                "Share of participants", format="percent", help="p_s: the group's share of the participants."
            ),
            "p_t": st.column_config.NumberColumn(
                "Share of the summary",
                format="percent",
                help="p_t: its share of the summary's sentences that speak for a group.",
            ),
            "ratio": st.column_config.NumberColumn(
                "Summary / debate", format="%.2f", help="p_t / p_s; under-represented at 0.8 or less."
            ),
        },
    )
    st.caption(
        "A sentence speaks for a group when that group agrees with the contributions it carries clearly more than "
        "the others do (votes); whether the sentence itself agrees or disagrees with them is not scored without an "
        "NLI judge. Small groups keep their share here."
    )
    widgets.download(opinion, f"{sel.debate_id}-opinion-groups")
    reps = cache.scored_table(sel.root, sel.pluralism_run, "representatives", output_id=sel.output_id)
    if not reps.empty:
        st.caption(
            "Each opinion group's most representative comment (Polis representativeness), and whether it survives:"
        )
        texts = cache.contribution_texts(
            sel.root, debate_id=sel.debate_id, contribution_ids=tuple(reps["contribution_id"].astype(str))
        )
        reps = reps.merge(texts, on="contribution_id", how="left")
        for row in reps.itertuples():
            widgets.quote(row.text, caption=f"group {row.vote_group} · {'survives' if row.covered else 'dropped'}")

st.subheader(f"Marginalized topics ({len(marginalized)})")
if marginalized.empty:
    st.success("Every topic is represented in proportion.")
    st.stop()
widgets.text_table(
    marginalized[["cluster", "label", "status", "size", "p_s", "p_t", "is_minority"]].rename(
        columns={"status": "Status"}
    ),
    column_config={
        "p_s": st.column_config.NumberColumn(
            "Share of debate", format="percent", help="p_s: its share of the contributions."
        ),
        "p_t": st.column_config.NumberColumn(
            "Share of summary", format="percent", help="p_t: its share of the summary."
        ),
    },
)
widgets.download(pd.DataFrame(marginalized.drop(columns=["keywords"])), f"{sel.debate_id}-marginalized")


@st.fragment
def cluster_details(sel: state.Selection, marginalized: pd.DataFrame) -> None:
    """One marginalized cluster in detail: picking another cluster or break-down reruns only this part.

    Large debates have hundreds of marginalized clusters: the table above lists them all, and this part
    draws one at a time (minority clusters first), so a change here redraws little.
    """
    row = pick_cluster(marginalized)
    breakdown_by = widgets.choice("Break down by", list(BREAKDOWN_DIMENSIONS), key="by")
    part, chosen = breakdown_of(sel, marginalized, row, breakdown_by)
    clusters_table = cache.run_table(sel.root, sel.mapping_run, "clusters").set_index("cluster")
    info = clusters_table.loc[row.cluster] if row.cluster in clusters_table.index else None
    with st.container(border=True):
        cluster_head(sel, row, info)
        left, right = st.columns(2)
        with left:
            st.caption(f"By {breakdown_by} (cells under 5 contributors suppressed)")
            widgets.text_table(part[["value", "n", "suppressed"]].rename(columns={"value": breakdown_by}))
        with right:
            cluster_votes(sel, row)
        if info is not None and info["representative_ids"] is not None:
            representatives(sel, row, info["representative_ids"], breakdown_by, chosen)


def pick_cluster(marginalized: pd.DataFrame) -> Any:
    """The picker of the cluster to examine (its value in the URL under ``mcl``); the picked row of ``marginalized``."""
    rows = {str(r.cluster): r for r in marginalized.itertuples()}
    picked = widgets.url_widget(
        st.selectbox,
        "Cluster to examine",
        list(rows),
        key="mcl",
        format_func=lambda c: (
            f"C{c} · {rows[c].label or ''} — {rows[c].status}{' · minority' if rows[c].is_minority else ''}"
        ),
    )
    return rows[picked]


def breakdown_of(
    sel: state.Selection, marginalized: pd.DataFrame, row: Any, breakdown_by: str
) -> tuple[pd.DataFrame, list[str]]:
    """The cluster's contributions by ``breakdown_by``, narrowed to the values the reader picks; and those values."""
    ids = tuple(int(c) for c in marginalized["cluster"])
    # quotes follow the one rule of dembias.small_cells.public_attributes (as on the map and What it left out)
    table = cache.cluster_breakdown(
        sel.root, debate_id=sel.debate_id, mapping_run=sel.mapping_run, clusters=ids, by=breakdown_by
    )
    part = table[table["cluster"] == row.cluster]
    chosen = st.multiselect(
        f"Only these {breakdown_by} values", sorted(part["value"].dropna().unique()), key=f"w_filter_{breakdown_by}"
    )
    if chosen:
        part = part[part["value"].isin(chosen)]
    return part, chosen


def cluster_head(sel: state.Selection, row: Any, info: pd.Series | None) -> None:
    """The cluster's name and status, its flag button, its size and shares, and its keywords."""
    st.markdown(
        f"**C{row.cluster} · {plain(row.label or '')}** — {row.status}" + (" · minority" if row.is_minority else "")
    )
    widgets.annotate(
        sel.debate_id,
        "cluster",
        str(row.cluster),
        key=f"cl{row.cluster}",
        run_id=sel.pluralism_run,
        output_id=sel.output_id,
    )
    c1, c2, c3 = st.columns(3)
    c1.metric("Contributions", int(row.size))
    c2.metric("Share of debate", f"{row.p_s:.1%}")
    c3.metric("Share of summary", f"{(row.p_t or 0):.1%}")
    if info is not None and info["keywords"] is not None:
        st.write("Keywords: " + plain(", ".join(str(k) for k in info["keywords"])))


def cluster_votes(sel: state.Selection, row: Any) -> None:
    """How each vote group voted on the cluster's comments (nothing in a debate without votes)."""
    rates = cache.vote_rates(
        sel.root,
        debate_id=sel.debate_id,
        mapping_run=sel.mapping_run,
        contribution_ids=cache.item_ids(sel.root, sel.mapping_run, f"topic:{int(row.cluster)}"),
    )
    if not rates.empty:
        st.caption("How each vote group voted on this cluster's comments (groups under 5 voters: no rates)")
        widgets.text_table(rates)


def representatives(
    sel: state.Selection, row: Any, representative_ids: Any, breakdown_by: str, chosen: list[str]
) -> None:
    """The cluster's representative contributions (of the picked ``breakdown_by`` values), quoted, and the link to
    all of its contributions."""
    texts = cache.contribution_texts(
        sel.root, debate_id=sel.debate_id, contribution_ids=tuple(str(i) for i in representative_ids)
    )
    if chosen:
        texts = texts[texts[breakdown_by].fillna("unknown").isin(chosen)]
    st.caption(f"{len(texts)} representative contribution(s) of {int(row.size)}")
    for text_row in texts.itertuples():
        widgets.quote(
            text_row.text,
            caption=f"#{text_row.contribution_id} · {text_row.country} · {text_row.language}",
        )
    widgets.left_out_link(
        sel, f"Read all {int(row.size)} contributions of C{row.cluster} →", item=f"topic:{int(row.cluster)}"
    )


cluster_details(sel, marginalized)
