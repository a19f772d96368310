"""Cluster survival: each cluster's share of the debate against its share of the summary."""

from __future__ import annotations

import streamlit as st

from dembias.plots import survival_figure
from dembias.read.explain import metric_help
from pages.ui import cache, widgets
from pages.ui.sidebar import summary_page
from pages.ui.text import plain

CHART_CLUSTERS = 60  # bars drawn at most (the largest clusters): 490 clusters made a 14,000-pixel chart
LINK_ROWS = 2_000  # link rows sent to the page at most; the filter and the cap run in DuckDB

sel = summary_page("Cluster survival")

coverage = cache.cluster_coverage(
    sel.root, pluralism_run=sel.pluralism_run, mapping_run=sel.mapping_run, output_id=sel.output_id
)
clusters = coverage[coverage["cluster"] != -1]
if clusters.empty:
    st.warning("This output was not scored in the selected run.")
    st.stop()

n_dropped = int((~clusters["covered"]).sum())
n_minority_dropped = int((~clusters["covered"] & clusters["is_minority"]).sum())
cols = st.columns(3)
cols[0].metric("Topics (clusters)", len(clusters))
cols[1].metric("Dropped", n_dropped, help=metric_help("survival"))
cols[2].metric("Minority topics dropped", f"{n_minority_dropped} of {int(clusters['is_minority'].sum())}")

charted = clusters.nlargest(CHART_CLUSTERS, "size")
widgets.chart(survival_figure(charted), key="survival", title="Topic shares: debate and summary", sel=sel)
if len(charted) < len(clusters):
    st.caption(
        f"The chart shows the {len(charted)} largest of {len(clusters)} clusters; the table below lists every "
        "one, and Minorities details the marginalized ones."
    )
st.caption(
    "★ minority cluster (the smallest clusters together holding 20% of contributions) · ✕ dropped by the summary"
)
if n_dropped:
    widgets.left_out_link(sel, f"Read the {n_dropped} dropped topic(s), every contribution →")

st.subheader("Representation ratio per cluster")
table = clusters.assign(keywords=clusters["keywords"].map(lambda k: ", ".join(k) if k is not None else ""))
table = table[["cluster", "label", "keywords", "size", "p_s", "p_t", "ratio", "covered", "is_minority"]]
widgets.text_table(
    table,
    column_config={
        "p_s": st.column_config.NumberColumn("Share of debate", format="percent", help="p_s"),
        "p_t": st.column_config.NumberColumn("Share of summary", format="percent", help="p_t"),
        "ratio": st.column_config.NumberColumn(
            "Summary / debate", format="%.2f", help="p_t / p_s: under-represented at 0.8 or less"
        ),
    },
)
widgets.download(table, f"{sel.debate_id}-cluster-survival")

st.subheader("Which sentences link to which clusters")
names = dict(zip(clusters["cluster"], clusters["label"].fillna(""), strict=True))
cluster_filter = st.multiselect(
    "Only clusters",
    sorted(clusters["cluster"].tolist()),
    format_func=lambda c: f"C{c} {names.get(c, '')}".strip(),
    key="w_units_clusters",
)
shown, n_links = cache.unit_links(
    sel.root,
    pluralism_run=sel.pluralism_run,
    mapping_run=sel.mapping_run,
    output_id=sel.output_id,
    clusters=tuple(cluster_filter),
    limit=LINK_ROWS,
)
if n_links > len(shown):
    st.caption(
        f"Showing the first {len(shown):,} of {n_links:,} links (by sentence, then cluster): pick clusters to narrow "
        f"them. All of them are in the `links` table of `runs/{sel.pluralism_run}.duckdb`."
    )
covered = dict(zip(clusters["cluster"], clusters["covered"], strict=True))
not_linked = [c for c in cluster_filter if not covered.get(c, True)]
for cluster in not_linked:
    st.info(
        f"No sentence of the summary links to C{cluster} {plain(names.get(cluster, ''))}: the summary "
        "dropped it, so it has no rows here. Its contributions are listed on What it left out."
    )
    widgets.left_out_link(sel, f"Read C{cluster}'s contributions →", item=f"topic:{int(cluster)}")
if not shown.empty or not not_linked:
    widgets.text_table(shown[["unit_index", "kind", "unit_text", "contribution_id", "cluster", "method", "score"]])
widgets.download(shown, f"{sel.debate_id}-unit-links")

st.subheader("Justified representation")
st.caption(metric_help("jr_violations"))
violations = cache.scored_table(sel.root, sel.pluralism_run, "jr_violations", output_id=sel.output_id)
if violations.empty:
    st.success("No violation: every cluster of at least N/k contributions is represented.")
else:
    widgets.text_table(violations.drop(columns=["output_id"]))
    widgets.download(violations, f"{sel.debate_id}-jr-violations")
