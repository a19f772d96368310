"""Opinion map: the debate's opinion clusters, what the selected summary carries, and a lasso to read them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dembias import queries
from dembias.plots import opinion_map_figure
from pages import shared
from pages.map_chart import map_chart

# points drawn at most (a fixed sample, nested: the 5,000 are among the 10,000); each redraw sends them all to the
# browser, so the default keeps a colour change or a page switch quick on a large debate
POINT_CAPS = [5_000, 10_000, 20_000]

sel = shared.sidebar()
if sel is None:
    st.stop()
st.title("Opinion map")
shared.verdict_box(sel)
shared.quality_badge(sel)
if sel.mapping_run is None:
    st.info(
        f"No opinion map for {shared.plain(sel.debate_id)} yet: run "
        + shared.command(f"dembias map --debate {sel.debate_id}")
        + "."
    )
    st.stop()

total = shared.n_mapped(sel.root, sel.mapping_run)
cap = POINT_CAPS[0]
if total > POINT_CAPS[0]:
    cap = int(
        shared.url_widget(
            st.select_slider,
            "Points drawn",
            [str(n) for n in POINT_CAPS],
            key="pts",
            format_func=lambda n: f"{int(n):,}",
            help="A fixed sample of the debate: more points show more detail and take longer to draw.",
        )
    )
points = shared.map_points(sel.root, sel.debate_id, sel.mapping_run, cap)
clusters = shared.run_table(sel.root, sel.mapping_run, "clusters")
diagnostics = shared.run_table(sel.root, sel.mapping_run, "diagnostics")
diag = dict(zip(diagnostics["metric"], diagnostics["value"], strict=True)) if not diagnostics.empty else {}

cols = st.columns(5)
cols[0].metric("Contributions mapped", f"{total:,}")
cols[1].metric("Opinion clusters", int(diag.get("n_clusters", 0)))
cols[2].metric(
    "Noise share", f"{diag.get('noise_share', float('nan')):.0%}", help="Contributions HDBSCAN left unclustered."
)
cols[3].metric(
    "Stability (ARI)",
    f"{diag.get('stability_ari', float('nan')):.2f}",
    help="Mean pairwise adjusted Rand index of the clusterings over several seeds (1 = identical).",
)
cols[4].metric(
    "NMI with language",
    f"{diag.get('nmi_language', float('nan')):.2f}",
    help="Normalised mutual information between cluster and language: near 0 means clusters follow opinions, "
    "not languages.",
)
if total > len(points):
    st.caption(f"Showing a fixed sample of {len(points):,} of {total:,} contributions.")

covered_clusters = None
units = None
if sel.output_id and sel.pluralism_run:
    coverage = shared.cluster_coverage(sel.root, sel.pluralism_run, sel.mapping_run, sel.output_id)
    if not coverage.empty:
        covered_clusters = coverage.loc[coverage["covered"], "cluster"].tolist()
        n_dropped = int((~coverage["covered"] & (coverage["cluster"] != -1)).sum())
        st.caption(
            f"Summary: {shared.plain(sel.output_label)} — {n_dropped} cluster(s) dropped (grey, outlined in their colour); "
            "★ marks each summary sentence at the centre of the contributions it carries."
        )
        if st.toggle("Show summary sentences", value=st.query_params.get("units", "1") == "1", key="w_units"):
            units = shared.unit_positions(sel.root, sel.pluralism_run, sel.mapping_run, sel.output_id)
        shared.set_params(units="1" if units is not None else "0")


@st.fragment
def map_view(
    sel: shared.Selection, points: pd.DataFrame, covered_clusters: list[int] | None, units: pd.DataFrame | None
) -> None:
    """Colouring, the map(s) and the lasso selection: a colour change or a lasso reruns only this part."""
    color_by = shared.choice("Colour by", ["cluster", "vote_group", "language", "country"], key="color")
    side_by_side = (
        covered_clusters is not None
        and color_by == "cluster"
        and st.toggle(
            "Source clusters and surviving clusters side by side", value=st.query_params.get("sbs") == "1", key="w_sbs"
        )
    )
    shared.set_params(sbs="1" if side_by_side else None)
    if side_by_side:
        left, right = st.columns(2)
        with left:
            st.markdown("**All opinion clusters of the debate**")
            shared.chart(opinion_map_figure(points, color_by="cluster", height=480), key="map_all")
        with right:
            st.markdown("**Clusters that survive the summary**")
            shared.chart(
                opinion_map_figure(
                    points, color_by="cluster", covered_clusters=covered_clusters, surviving_only=True, height=480
                ),
                key="map_surviving",
            )
    figure = opinion_map_figure(points, color_by=color_by, covered_clusters=covered_clusters, units=units)
    # keyed by the mapping run: a selection made on another debate's map does not carry over
    selected = map_chart(
        figure, key=f"map-{sel.mapping_run}", config={**shared.chart_config("map"), "responsive": True}
    )
    st.subheader(f"Selected contributions ({len(selected)})")
    if not selected:
        st.caption("Draw a lasso or a box on the map to list the contributions inside it.")
    else:
        detail = queries.contributions_detail(
            sel.ws, debate_id=sel.debate_id, mapping_run=sel.mapping_run, contribution_ids=selected
        )
        if sel.output_id and sel.pluralism_run:
            links, _ = shared.unit_links(
                sel.root, sel.pluralism_run, sel.mapping_run, sel.output_id, contribution_ids=tuple(sorted(selected))
            )
            carried = links.groupby("contribution_id")["unit_index"].apply(
                lambda u: ", ".join(map(str, sorted(set(u))))
            )
            detail.insert(1, "carried by units", detail["contribution_id"].map(carried).fillna("— not carried"))
        shared.text_table(detail)
        shared.download(detail, f"{sel.debate_id}-selection")


map_view(sel, points, covered_clusters, units)

if sel.output_id and sel.pluralism_run:
    st.subheader("The summary, sentence by sentence")
    st.caption(
        "Each ★ on the map is one of these sentences; chips name the topics and opinion group it carries, "
        "and mark sentences that say nothing specific, repeats and unsupported citations."
    )
    shared.summary_text(sel)

with st.expander("Clusters", expanded=False):
    shared.text_table(clusters)
    shared.download(clusters, f"{sel.debate_id}-clusters")
