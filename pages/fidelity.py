"""Fidelity: do rewrites and translations still say what their authors said, equally for every group?"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dembias.explain import metric_help
from dembias.metrics.fidelity import NO_STANCE_NOTE
from dembias.plots import fidelity_distribution_figure
from dembias.plots.fidelity import ALL_POINTS_MAX
from pages import shared

sel = shared.sidebar()
if sel is None:
    st.stop()
st.title("Fidelity of rewrites and translations")
if not sel.fidelity_run:
    st.info(
        f"No fidelity scoring run for {shared.plain(sel.debate_id)}: ingest reformulations or translations "
        "(`dembias ingest outputs`, `dembias generate`) and run `dembias score fidelity`."
    )
    st.stop()

pairs = shared.run_table(sel.root, sel.fidelity_run, "pairs")
flags = shared.run_table(sel.root, sel.fidelity_run, "flags")
aggregates = shared.run_table(sel.root, sel.fidelity_run, "aggregates")
tests = shared.run_table(sel.root, sel.fidelity_run, "tests")
stance_scored = bool(pairs["stance_scored"].fillna(False).any()) if "stance_scored" in pairs else False

cols = st.columns(4)
cols[0].metric("Rewrites audited", len(pairs))
cols[1].metric("Mean similarity", f"{pairs['similarity'].mean():.2f}", help=metric_help("similarity"))
cols[2].metric("With a lexical flag", f"{(pairs['n_flags'] > 0).mean():.0%}", help=metric_help("flags"))
if stance_scored:
    cols[3].metric("Stance flips", int(pairs["stance_flip"].fillna(False).sum()), help=metric_help("entailment_min"))
else:
    cols[3].metric("Stance", "not scored")
    st.warning(NO_STANCE_NOTE)


@st.fragment
def distributions(pairs: pd.DataFrame, aggregates: pd.DataFrame, tests: pd.DataFrame, debate_id: str) -> None:
    """The distribution chart and its aggregates: changing the grouping or the measure reruns only this part."""
    by = shared.choice(
        "Distribution by", ["language_pair", "country", "cluster", "cluster_size", "vote_group"], key="fby"
    )
    metric = shared.choice("Measure", ["similarity", "review_score", "length_ratio"], key="fmetric")
    shared.chart(fidelity_distribution_figure(pairs, by=by, metric=metric), key="fid_dist")
    if len(pairs) > ALL_POINTS_MAX:
        st.caption(
            f"{len(pairs):,} rewrites: the boxes are computed from all of them; dots mark only the outliers "
            f"(every rewrite is drawn up to {ALL_POINTS_MAX:,})."
        )

    with st.expander("Aggregates with 95% intervals, and tests between groups", expanded=False):
        shown = aggregates[aggregates["dimension"].isin(["all", by])] if not aggregates.empty else aggregates
        shared.text_table(shown)
        shared.download(aggregates, f"{debate_id}-fidelity-aggregates")
        st.caption("Permutation tests, Benjamini-Hochberg q-values across all tests of the run:")
        shared.text_table(tests)
        shared.download(tests, f"{debate_id}-fidelity-tests")


distributions(pairs, aggregates, tests, sel.debate_id)

st.subheader("Needs review")
st.caption("Rewrites ranked by the review score (low similarity percentile, lexical flags, entailment when scored).")
limit = st.slider("How many", 5, 100, 15, step=5, key="w_review_n")
review = shared.review_list(sel.root, sel.fidelity_run, limit)
flag_words = flags.groupby("output_id")["words"].apply(lambda ws: sorted({w for lst in ws for w in lst}))
flag_kinds = flags.groupby("output_id")["kind"].apply(lambda ks: ", ".join(sorted(set(ks))))
for row in review.itertuples():
    words = flag_words.get(row.output_id, [])
    header = f"{shared.plain(row.output_id)} · {shared.plain(row.language_pair)} · review {row.review_score:.2f} · similarity {row.similarity:.2f}"
    with st.container(border=True):
        st.caption(header + (f" · flags: {flag_kinds.get(row.output_id)}" if row.output_id in flag_kinds else ""))
        left, right = st.columns(2)
        with left:
            shared.highlighted(row.source_text or "", words, caption="source (what the author said)")
        with right:
            shared.highlighted(row.output_text or "", words, caption=f"{row.task} by {row.model}")
        shared.annotate(sel.debate_id, "output_pair", row.output_id, key=row.output_id, run_id=sel.fidelity_run)
shared.download(review, f"{sel.debate_id}-needs-review")
