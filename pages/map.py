"""Opinion map: the debate's opinion clusters, what the selected summary carries, and a lasso to read them."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dembias.plots import opinion_map_figure, vote_bars_figure
from dembias.plots.opinion_map import Overlays, matching_ids
from dembias.read import queries
from pages.ui import cache, render, state, widgets
from pages.ui.map_chart import MapEvents, map_chart
from pages.ui.sidebar import sidebar
from pages.ui.text import command, plain

# points drawn at most (a fixed sample, nested: the 5,000 are among the 10,000); each redraw sends them all to the
# browser, so the default keeps a colour change or a page switch quick on a large debate
POINT_CAPS = [5_000, 10_000, 20_000]

sel = sidebar()
if sel is None:
    st.stop()
st.title("Opinion map")
render.verdict_box(sel)
render.quality_badge(sel)
if sel.mapping_run is None:
    st.info(
        f"No opinion map for {plain(sel.debate_id)} yet: run " + command(f"dembias map --debate {sel.debate_id}") + "."
    )
    st.stop()

total = cache.n_mapped(sel.root, sel.mapping_run)
cap = POINT_CAPS[0]
if total > POINT_CAPS[0]:
    cap = int(
        widgets.url_widget(
            st.select_slider,
            "Points drawn",
            [str(n) for n in POINT_CAPS],
            key="pts",
            format_func=lambda n: f"{int(n):,}",
            help="A fixed sample of the debate: more points show more detail and take longer to draw.",
        )
    )
points = cache.map_points(sel.root, sel.debate_id, sel.mapping_run, cap)
clusters = cache.run_table(sel.root, sel.mapping_run, "clusters")
diagnostics = cache.run_table(sel.root, sel.mapping_run, "diagnostics")
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
    coverage = cache.cluster_coverage(
        sel.root, pluralism_run=sel.pluralism_run, mapping_run=sel.mapping_run, output_id=sel.output_id
    )
    if not coverage.empty:
        covered_clusters = coverage.loc[coverage["covered"], "cluster"].tolist()
        n_dropped = int((~coverage["covered"] & (coverage["cluster"] != -1)).sum())
        dropped_note = (
            f"{n_dropped} topic(s) dropped, drawn as vermilion diamonds (noise stays light grey)"
            if n_dropped
            else "it carries every topic"
        )
        st.caption(
            f"Summary: {plain(sel.output_label)} — {dropped_note}; ★ marks each summary sentence at the "
            "centre of the contributions it carries. Click a point to pin it; draw a lasso to read a region."
        )
        if n_dropped:
            widgets.left_out_link(sel, f"Read the {n_dropped} dropped topic(s), every contribution →")
        if st.toggle("Show summary sentences", value=st.query_params.get("units", "1") == "1", key="w_units"):
            units = cache.unit_positions(
                sel.root, pluralism_run=sel.pluralism_run, mapping_run=sel.mapping_run, output_id=sel.output_id
            )
        state.set_params(units="1" if units is not None else "0")

# the two maps side by side only where each keeps about 600 px: below 1,400 px they stack, each full width
SIDE_BY_SIDE_CSS = """<style>
@media (max-width: 1399px) {
  .st-key-sbs [data-testid="stHorizontalBlock"] { flex-direction: column; }
  .st-key-sbs [data-testid="stColumn"] { width: 100% !important; flex: 1 1 100% !important; }
}
</style>"""


def side_by_side(points: pd.DataFrame, covered_clusters: list[int]) -> None:
    """All topics of the debate and the topics that survive the summary, side by side (stacked on narrow screens)."""
    st.html(SIDE_BY_SIDE_CSS)
    with st.container(key="sbs"):
        left, right = st.columns(2)
        with left:
            st.markdown("**All opinion clusters of the debate**")
            widgets.chart(opinion_map_figure(points, color_by="cluster", height=480, legend_below=True), key="map_all")
        with right:
            st.markdown("**Clusters that survive the summary** (dropped ones faded)")
            figure = opinion_map_figure(
                points,
                color_by="cluster",
                covered_clusters=covered_clusters,
                surviving_only=True,
                height=480,
                legend_below=True,
            )
            widgets.chart(figure, key="map_surviving")


def pinned_id(events: MapEvents) -> str | None:
    """The pinned contribution: set by a new click on the map, kept across reruns (and in the URL) until unpinned."""
    if events.clicked is not None and events.clicked != st.session_state.get("map_last_click"):
        st.session_state["map_last_click"] = events.clicked
        st.session_state["map_pin"] = events.clicked["id"]
    pin = st.session_state.get("map_pin", st.query_params.get("pin"))
    state.set_params(pin=pin)
    return pin


def vote_bars(sel: state.Selection, ids: list[str], *, what: str, key: str) -> None:
    """Polis-style bars: how each vote group voted on ``ids`` (agree, disagree, pass, with n)."""
    rates = cache.vote_rates(
        sel.root, debate_id=sel.debate_id, mapping_run=sel.mapping_run, contribution_ids=tuple(sorted(ids))
    )
    if rates.empty:
        st.caption("No votes in this debate: how the groups voted cannot be shown.")
        return
    st.markdown(f"**How each vote group voted on {what}**")
    widgets.chart(vote_bars_figure(rates), key=key)
    st.caption("Shares of each group's votes; a group with fewer than 5 voters on them shows no bar.")


def pinned_panel(sel: state.Selection, points: pd.DataFrame, pin: str, covered_clusters: list[int] | None) -> None:
    """The pinned contribution's text, topic and attributes, and how the vote groups voted on its topic."""
    row = points[points["contribution_id"].astype(str) == pin]
    if row.empty:
        return
    row = row.iloc[0]
    cluster = int(row["cluster"])
    topic = "unclustered" if cluster == -1 else f"C{cluster} {row['label'] or ''}".strip()
    dropped = covered_clusters is not None and cluster != -1 and cluster not in covered_clusters
    with st.container(border=True):
        head, button = st.columns([5, 1])
        head.markdown(
            f"**Pinned contribution #{plain(pin)}** · {plain(topic)}"
            + (" · **dropped by the summary**" if dropped else "")
        )
        if button.button("Unpin", key="unpin"):
            st.session_state["map_pin"] = None
            st.rerun(scope="fragment")
        widgets.quote(str(row["text"]), caption=f"{row['country']} · {row['language']}")
        if cluster != -1:
            item = f"topic:{cluster}"
            ids = cache.item_ids(sel.root, sel.mapping_run, item)
            vote_bars(sel, list(ids), what=f"the {len(ids)} contributions of its topic", key="pin_votes")
            if dropped:
                widgets.left_out_link(sel, f"Read every contribution of C{cluster} →", item=item)


def selection_panel(sel: state.Selection, selected: list[str]) -> None:
    """The lasso's contributions, text first, with how each vote group voted on them."""
    st.subheader(f"Selected contributions ({len(selected)})")
    if not selected:
        st.caption("Draw a lasso or a box on the map to list the contributions inside it.")
        return
    vote_bars(sel, selected, what=f"these {len(selected)} contributions", key="selection_votes")
    detail = queries.contributions_detail(
        sel.ws, debate_id=sel.debate_id, mapping_run=sel.mapping_run, contribution_ids=selected
    )
    if sel.output_id and sel.pluralism_run:
        links, _ = cache.unit_links(
            sel.root,
            pluralism_run=sel.pluralism_run,
            mapping_run=sel.mapping_run,
            output_id=sel.output_id,
            contribution_ids=tuple(sorted(selected)),
        )
        carried = links.groupby("contribution_id")["unit_index"].apply(lambda u: ", ".join(map(str, sorted(set(u)))))
        detail.insert(0, "carried by units", detail["contribution_id"].map(carried).fillna("— not carried"))
    first = ["text"] + [c for c in detail.columns if c != "text"]  # the text first, wide; the rest after it
    widgets.text_table(
        detail[first], column_config={"text": st.column_config.TextColumn("text", width="large")}, row_height=60
    )
    widgets.download(detail, f"{sel.debate_id}-selection")


@st.fragment
def map_view(
    sel: state.Selection, points: pd.DataFrame, covered_clusters: list[int] | None, units: pd.DataFrame | None
) -> None:
    """Colouring, modes, search, the map(s), the pinned point and the lasso: a change reruns only this part."""
    color_by = widgets.choice("Colour by", ["cluster", "vote_group", "language", "country"], key="color")
    finding = covered_clusters is not None and color_by == "cluster"
    any_dropped = finding and bool(set(points["cluster"]) - set(covered_clusters) - {-1})
    c1, c3 = st.columns([1, 1])  # the two modes one above the other, the search beside them
    focus = any_dropped and c1.toggle(
        "Show what the summary dropped",
        value=st.query_params.get("drop") == "1",
        key="w_drop",
        help="Fades every topic the summary carries, so the dropped ones stand out.",
    )
    state.set_params(drop="1" if focus else None)
    sbs = finding and c1.toggle(
        "All topics and surviving topics side by side", value=st.query_params.get("sbs") == "1", key="w_sbs"
    )
    state.set_params(sbs="1" if sbs else None)
    search = c3.text_input(
        "Find in the texts", value=st.query_params.get("find", ""), key="w_find", placeholder="a word or phrase"
    ).strip()
    state.set_params(find=search or None)
    if sbs:
        side_by_side(points, covered_clusters)
    matches = matching_ids(points, search)
    if search:
        st.caption(f"{len(matches)} drawn contribution(s) contain “{search}” (ringed in black).")
    pin = st.session_state.get("map_pin", st.query_params.get("pin"))
    figure = opinion_map_figure(
        points,
        color_by=color_by,
        covered_clusters=covered_clusters,
        focus_dropped=focus,
        units=units,
        overlays=Overlays(matches, f"contains “{search}”", pin),
    )
    # keyed by the mapping run: a selection made on another debate's map does not carry over
    events = map_chart(figure, key=f"map-{sel.mapping_run}", config={**widgets.chart_config("map"), "responsive": True})
    if pinned_id(events) != pin:  # a new click: redraw with its ring (one quick rerun of this fragment)
        st.rerun(scope="fragment")
    if pin:
        pinned_panel(sel, points, pin, covered_clusters)
    selection_panel(sel, events.selection)


map_view(sel, points, covered_clusters, units)

if sel.output_id and sel.pluralism_run:
    st.subheader("The summary, sentence by sentence")
    st.caption(
        "Each ★ on the map is one of these sentences; chips name the topics and opinion group it carries, "
        "and mark sentences that say nothing specific, repeats and unsupported citations."
    )
    render.summary_text(sel)

with st.expander("Clusters", expanded=False):
    widgets.text_table(clusters)
    widgets.download(clusters, f"{sel.debate_id}-clusters")
