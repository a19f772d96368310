"""Fidelity: do rewrites and translations still say what their authors said, equally for every group?"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dembias.fidelity.metrics import NO_STANCE_NOTE, country_language_table
from dembias.plots import fidelity_distribution_figure
from dembias.plots.fidelity import ALL_POINTS_MAX
from dembias.read.explain import metric_help
from dembias.read.page_findings import fidelity_finding
from dembias.read.verdict import model_label
from dembias.read.vocabulary import column_label
from pages.ui import cache, render, widgets
from pages.ui.sidebar import sidebar
from pages.ui.text import plain

sel = sidebar()
if sel is None:
    st.stop()
st.title("Fidelity of rewrites and translations")
if not sel.fidelity_run:
    st.info(
        f"No fidelity scoring run for {plain(sel.debate_id)}: ingest reformulations or translations "
        "(`dembias ingest outputs`, `dembias generate`) and run `dembias score fidelity`."
    )
    st.stop()

pairs = cache.run_table(sel.root, sel.fidelity_run, "pairs")
flags = cache.run_table(sel.root, sel.fidelity_run, "flags")
aggregates = cache.run_table(sel.root, sel.fidelity_run, "aggregates")
tests = cache.run_table(sel.root, sel.fidelity_run, "tests")
render.finding(fidelity_finding(aggregates, n_pairs=len(pairs)))
stance_scored = bool(pairs["stance_scored"].fillna(False).any()) if "stance_scored" in pairs else False

cols = st.columns(5)
cols[0].metric("Rewrites audited", len(pairs))
cols[1].metric("Mean similarity", f"{pairs['similarity'].mean():.2f}", help=metric_help("similarity"))
cols[2].metric("With a lexical flag", f"{(pairs['n_flags'] > 0).mean():.0%}", help=metric_help("flags"))
checked = pairs["stance_checked"].fillna(False).astype(bool) if "stance_checked" in pairs else None
if checked is not None and checked.any():
    share = pairs.loc[checked, "lexical_stance_flip"].mean()
    cols[3].metric("Stance flips (lexical)", f"{share:.0%}", help=metric_help("lexical_stance_flip"))
else:
    cols[3].metric("Stance flips (lexical)", "not checked", help=metric_help("lexical_stance_flip"))
if checked is not None and not checked.all():
    notes = pairs.loc[~checked, "stance_note"].dropna().value_counts()
    st.info(
        "; ".join(f"{plain(note)} ({n} rewrite{'s' if n > 1 else ''})" for note, n in notes.items())
        + ": these rewrites have no stance flags because no lexicon reads them, not because their stance held."
    )
if stance_scored:
    cols[4].metric(
        "Stance flips (NLI)", int(pairs["stance_flip"].fillna(False).sum()), help=metric_help("entailment_min")
    )
else:
    cols[4].metric("Stance flips (NLI)", "off", help="Not scored: no NLI judge model was configured.")
    st.caption(NO_STANCE_NOTE)
if pairs["model"].astype(str).str.startswith("reference control").any():
    st.caption(
        "Models named 'reference control: ...' are not models: they are faithful and negated translations written "
        "by hand for the demo, to show what the audit reports for a known answer."
    )

view = country_language_table(aggregates) if not aggregates.empty else pd.DataFrame()
if not view.empty:
    st.subheader("By language pair and country")
    st.caption(
        "Each row: one model's rewrites from one source language into one target language, of contributions from "
        "one country. Fidelity is the "
        "mean similarity to the source; flagged share and lexical stance-flip share with 95% bootstrap intervals. "
        "Rows with fewer than k contributors show no rates (small-cell rule)."
    )

    def cell(row: pd.Series, metric: str, percent: bool) -> str:
        if metric not in row or pd.isna(row[metric]):
            if row["suppressed"]:
                return "suppressed"
            return "not checked (no lexicon)" if metric == "lexical_stance_flip" else "—"
        fmt = "{:.0%}" if percent else "{:.2f}"
        return f"{fmt.format(row[metric])} [{fmt.format(row[metric + '_low'])}, {fmt.format(row[metric + '_high'])}]"

    shown = pd.DataFrame(
        {
            "Model": view["model"].map(model_label),
            "Language pair": view["language_pair"],
            "Country": view["country"],
            "Rewrites": view["n"],
            "Fidelity (similarity)": [cell(r, "similarity", False) for _, r in view.iterrows()],
            "Flagged": [cell(r, "flagged", True) for _, r in view.iterrows()],
            "Stance flips (lexical)": [cell(r, "lexical_stance_flip", True) for _, r in view.iterrows()],
        }
    )
    if "stance_flip_rate" in view:
        shown["Stance flips (NLI)"] = [cell(r, "stance_flip_rate", True) for _, r in view.iterrows()]
    widgets.text_table(shown)
    widgets.download(view, f"{sel.debate_id}-fidelity-country-language", label="Download this table (CSV)")


#: Labels of the fidelity run's dimensions where they differ from the shared vocabulary: its ``vote_group`` is the
#: group Polis published for the author, not the opinion map's vote group.
FIDELITY_DIMENSIONS = {"vote_group": "Polis group of the author (published by Polis)", "cluster_size": "Topic size"}


@st.fragment
def distributions(pairs: pd.DataFrame, aggregates: pd.DataFrame, tests: pd.DataFrame, debate_id: str) -> None:
    """The distribution chart and its aggregates: changing the grouping or the measure reruns only this part."""
    by = widgets.choice(
        "Distribution by",
        ["language_pair", "country", "cluster", "cluster_size", "vote_group"],
        key="fby",
        format_func=lambda d: FIDELITY_DIMENSIONS.get(d, column_label(d)),
    )
    metric = widgets.choice("Measure", ["similarity", "review_score", "length_ratio"], key="fmetric")
    if by == "vote_group":
        st.caption(
            "The fidelity run groups rewrites by the group Polis published for their author (its own export), "
            "not by the opinion map's vote groups: the two counts can differ (see the Glossary)."
        )
    widgets.chart(
        fidelity_distribution_figure(pairs, by=by, metric=metric),
        key=f"fidelity-{metric}-by-{by}",
        title=f"Fidelity of rewrites: {column_label(metric).lower()} by "
        + FIDELITY_DIMENSIONS.get(by, column_label(by)).lower(),
        sel=sel,
        of_output=False,
    )
    if len(pairs) > ALL_POINTS_MAX:
        st.caption(
            f"{len(pairs):,} rewrites: the boxes are computed from all of them; dots mark only the outliers "
            f"(every rewrite is drawn up to {ALL_POINTS_MAX:,})."
        )

    with st.expander("Aggregates with 95% intervals, and tests between groups", expanded=False):
        shown = aggregates[aggregates["dimension"].isin(["all", by])] if not aggregates.empty else aggregates
        widgets.text_table(shown)
        widgets.download(aggregates, f"{debate_id}-fidelity-aggregates")
        st.caption(
            "Pairwise permutation tests between groups (or each against a named reference), with the difference's "
            "95% interval and Cohen's d; Benjamini-Hochberg q-values over every test of the run:"
        )
        widgets.text_table(tests)
        widgets.download(tests, f"{debate_id}-fidelity-tests")


distributions(pairs, aggregates, tests, sel.debate_id)

st.subheader("Needs review")
st.caption("Rewrites ranked by the review score (low similarity percentile, lexical flags, entailment when scored).")
limit = st.slider("How many", 5, 100, 15, step=5, key="w_review_n")
review = cache.review_list(sel.root, fidelity_run=sel.fidelity_run, limit=limit)
flag_words = flags.groupby("output_id")["words"].apply(lambda ws: sorted({w for lst in ws for w in lst}))
flag_kinds = flags.groupby("output_id")["kind"].apply(lambda ks: ", ".join(sorted(set(ks))))
for row in review.itertuples():
    words = flag_words.get(row.output_id, [])
    header = f"{plain(row.output_id)} · {plain(row.language_pair)} · review {row.review_score:.2f} · similarity {row.similarity:.2f}"
    with st.container(border=True):
        st.caption(header + (f" · flags: {flag_kinds.get(row.output_id)}" if row.output_id in flag_kinds else ""))
        left, right = st.columns(2)
        with left:
            widgets.highlighted(row.source_text or "", words, caption="source (what the author said)")
        with right:
            widgets.highlighted(row.output_text or "", words, caption=f"{row.task} by {row.model}")
        widgets.annotate(
            sel.debate_id,
            "output_pair",
            row.output_id,
            key=row.output_id,
            run_id=sel.fidelity_run,
            output_id=row.output_id,
        )
widgets.download(review, f"{sel.debate_id}-needs-review")
