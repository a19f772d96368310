"""What it left out: every contribution of a topic or opinion group the summary drops or under-represents."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dembias.plots import vote_bars_figure
from dembias.read.left_out import PAGE_SIZE
from dembias.small_cells import MIN_CELL
from pages.ui import cache, state, widgets
from pages.ui.sidebar import summary_page
from pages.ui.text import plain

sel = summary_page("What it left out")

items = cache.left_out_items(
    sel.root, pluralism_run=sel.pluralism_run, mapping_run=sel.mapping_run, output_id=sel.output_id
)
if items.empty:
    st.success("This summary leaves out no topic and no opinion group: each is carried in proportion.")
    st.stop()

n_topics = int((items["kind"] == "topic").sum())
n_groups = int((items["kind"] == "group").sum())
st.markdown(
    f"The summary drops or under-represents **{n_topics} topic(s)** (clusters of what was written) and "
    f"**{n_groups} opinion group(s)** (who agrees with what, from the votes). Pick one to read every "
    "contribution it holds, how each vote group voted on them, and where their authors write from."
)


def describe(row: pd.Series) -> str:
    """The picker's line for one left-out item."""
    minority = " · minority" if row["is_minority"] else ""
    return f"{row['label']} — {row['status']}{minority} · {int(row['size'])} contributions"


rows = {r["key"]: r for _, r in items.iterrows()}
state.url_first("item", list(rows))
key = widgets.url_widget(
    st.selectbox, "Topic or opinion group", list(rows), key="item", format_func=lambda k: describe(rows[k])
)
row = rows[key]
share_of = (
    f"contributions ({int(row['size'])} of them)"
    if row["kind"] == "topic"
    else f"participants; it agrees clearly more than the other groups with {int(row['size'])} contributions"
)
st.markdown(
    f"**{plain(row['label'])}** — **{row['status']}** by the summary"
    + (" · minority" if row["is_minority"] else "")
    + f": {row['p_t']:.1%} of the summary against {row['p_s']:.1%} of the debate's {share_of} "
    f"(ratio {row['ratio']:.2f}; under-represented at 0.80 or less; intervals on Minorities and the scorecard)."
)

ids = cache.item_ids(sel.root, sel.mapping_run, key)
st.markdown(f"**How each vote group voted on these {len(ids)} contributions**")
rates = cache.vote_rates(sel.root, debate_id=sel.debate_id, mapping_run=sel.mapping_run, contribution_ids=ids)
if rates.empty:
    st.caption("No votes in this debate: how groups voted cannot be shown.")
else:
    figure = vote_bars_figure(rates)
    widgets.chart(figure, key="left_out_votes", title=f"Votes on {row['label']}", sel=sel)
    st.caption(
        f"Shares of each group's votes (last vote per voter and contribution). A group with fewer than "
        f"{MIN_CELL} voters on them shows no bar."
    )
st.markdown("**Countries and languages of their authors**")
for column, by in zip(st.columns(2), ("country", "language"), strict=True):
    table = cache.slice_breakdown(sel.root, debate_id=sel.debate_id, contribution_ids=ids, by=by)
    table = table.assign(n=table["n"].astype("string").fillna(f"under {MIN_CELL} contributors"))
    with column:
        widgets.text_table(table[["value", "n"]].rename(columns={"value": by.capitalize(), "n": "Contributions"}))
st.caption(f"Cells with fewer than {MIN_CELL} contributors show no count (docs/privacy.md).")

st.subheader("The contributions")
state.url_first("q", [st.query_params.get("q", "")])
search = st.text_input("Search their text", key="w_q", placeholder="a word or phrase, any case").strip()
state.set_params(q=search or None)
if st.session_state.get("left_out_view") != (key, search):  # another item or search starts on its first page
    st.session_state["left_out_view"] = (key, search)
    for page_key in ("w_pg", "keep_pg"):
        st.session_state.pop(page_key, None)
_, total = cache.left_out_page(sel.root, sel.debate_id, sel.mapping_run, key, search, PAGE_SIZE, 0)
n_pages = max(1, -(-total // PAGE_SIZE))
pages = [str(p) for p in range(1, n_pages + 1)]
state.url_first("pg", pages)
page_no = int(widgets.url_widget(st.selectbox, f"Page (of {n_pages})", pages, key="pg")) if n_pages > 1 else 1
frame, total = cache.left_out_page(
    sel.root, sel.debate_id, sel.mapping_run, key, search, PAGE_SIZE, (page_no - 1) * PAGE_SIZE
)
first = (page_no - 1) * PAGE_SIZE + 1
st.caption(
    f"{total} contribution(s)"
    + (f" containing “{search}”" if search else "")
    + (f"; {first}–{first + len(frame) - 1} shown, most voted first." if total else ".")
    + " Texts are public contributions to the debate; a country or language shared by fewer than "
    f"{MIN_CELL} contributors of the debate reads “withheld”."
)


def vote_text(part: pd.DataFrame, group: str) -> list[str]:
    """Each contribution's votes in one group, as one readable cell."""
    out = []
    for agree, disagree, passed, n in zip(
        part[f"{group} agree"], part[f"{group} disagree"], part[f"{group} pass"], part[f"{group} n"], strict=True
    ):
        if pd.isna(agree):
            out.append(f"n = {int(n)}: too few to show")
        else:
            out.append(f"{agree:.0%} agree · {disagree:.0%} disagree · {passed:.0%} pass (n = {int(n)})")
    return out


groups = sorted({c.rsplit(" ", 1)[0] for c in frame.columns if c.startswith("group ") and c.endswith(" n")})
votes = {g: vote_text(frame, g) for g in groups}
for i, contribution in enumerate(frame.to_dict("records")):
    cluster = int(contribution["cluster"])
    topic = "unclustered" if cluster == -1 else f"topic {cluster}: {contribution['cluster_label'] or ''}"
    parts = [f"#{contribution['contribution_id']}", topic, contribution["country"], contribution["language"]]
    parts += [f"{g}: {votes[g][i]}" for g in groups]
    widgets.quote(str(contribution["text"]), caption=" · ".join(str(p) for p in parts))
if not frame.empty:
    widgets.download(frame, f"{sel.debate_id}-left-out-{key.replace(':', '-')}-page{page_no}")

with st.expander(f"Everything this summary leaves out ({len(items)})", expanded=False):
    widgets.text_table(
        items[["label", "status", "is_minority", "size", "p_s", "p_t", "ratio"]].rename(
            columns={"label": "Topic or group", "status": "Status", "is_minority": "Minority", "size": "Contributions"}
        ),
        column_config={
            "p_s": st.column_config.NumberColumn("Share of the debate", format="percent"),
            "p_t": st.column_config.NumberColumn("Share of the summary", format="percent"),
            "ratio": st.column_config.NumberColumn("Summary / debate", format="%.2f"),
        },
    )
