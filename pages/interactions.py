"""Bot-citizen interactions: who accepts the assistant's rewrite, and whose text it moves."""

from __future__ import annotations

import streamlit as st

from dembias.fidelity.interaction_views import interaction_verdict
from dembias.plots import interaction_pull_figure, interaction_rates_figure
from pages.ui import cache, render, widgets
from pages.ui.sidebar import sidebar
from pages.ui.text import plain

DIMENSIONS = {
    "language": "Language",
    "country": "Country",
    "topic": "Opinion topic",
    "vote_group": "Vote group",
    "cluster": "Cluster (from the log)",
}
FLAGGED_SHOWN = 30

sel = sidebar()
if sel is None:
    st.stop()
st.title("Bot-citizen interactions")
runs = cache.interaction_runs(sel.root, cache.version(sel.ws), sel.debate_id)
if not runs:
    st.info(
        "No scored interaction log for this debate. Ingest one with `dembias ingest interactions LOG` and score it "
        "with `dembias score interactions` (format: docs/interactions.md)."
    )
    st.stop()
run = runs[0]
params = run["params"]
rates = cache.run_table(sel.root, run["run_id"], "rates")
pull = cache.run_table(sel.root, run["run_id"], "pull")
flagged = cache.run_table(sel.root, run["run_id"], "flagged")
render.finding(interaction_verdict(rates, pull, flagged, simulated=bool(params.get("simulated_outcomes"))))
scope = "this debate" if run["debate_id"] else "all debates in the log"
min_cell = params.get("min_cell", params.get("k"))  # runs written before issue 18 call it k
st.caption(f"Run {plain(run['run_id'])} · {scope} · cells under {min_cell} contributors hidden")
simulated = bool(params.get("simulated_outcomes"))
if simulated:
    st.warning(
        "Simulated outcomes, to demonstrate the method: the suggestions are real model output for real "
        "contributions, but what the citizens did with them was simulated by a stated rule (docs/interactions.md). "
        "Do not read these rates as field data."
    )


present = [d for d in DIMENSIONS if (rates["dimension"] == d).any()]
if not present:
    st.stop()
dimension = widgets.choice("Break down by", present, key="interactions_by", format_func=DIMENSIONS.get)
part = rates[rates["dimension"] == dimension]
hidden = part[part["suppressed"].astype(bool)]

st.subheader("Accepted, edited, rejected")
if len(hidden) == len(part):
    st.warning("Not enough interactions: every cell of this break-down has too few contributors to show.")
else:
    widgets.chart(
        interaction_rates_figure(rates, dimension=dimension),
        key=f"interaction-rates-by-{dimension}",
        title=f"Suggestions accepted, edited, rejected by {DIMENSIONS[dimension].lower()}",
        sel=sel,
        of_output=False,
    )
if len(hidden):
    st.caption(
        f"Not enough interactions in {len(hidden)} cell(s) ({', '.join(plain(v) for v in hidden['value'])}): "
        "hidden under the small-cell rule."
    )
widgets.text_table(part.drop(columns=["dimension"]))

st.subheader("Pull toward the suggestion")
st.caption(
    "How far the final text moved from the draft toward the suggestion (character edit distance): 0 kept the "
    "draft, 1 took the suggestion. 'difference' compares a group with all other interactions (95% bootstrap "
    "interval); an interval that excludes 0 means the assistant moves that group's text more (or less)."
)
if (pull["dimension"] == dimension).any():
    widgets.chart(
        interaction_pull_figure(pull, dimension=dimension),
        key=f"interaction-pull-by-{dimension}",
        title=f"Pull toward the suggestion by {DIMENSIONS[dimension].lower()}",
        sel=sel,
        of_output=False,
    )
    widgets.text_table(pull[pull["dimension"].isin(["all", dimension])].drop(columns=["dimension"]))

st.subheader("Suggestions flagged by the fidelity audit")
if flagged.empty:
    st.success("No suggestion raised a fidelity flag (negation, polarity, numbers, names, length).")
else:
    st.caption(
        "Flags on draft -> suggestion, as in the Fidelity page; 'undone' means the citizen's final text no longer "
        "raises them."
    )
    summary = flagged.assign(flag_kinds=flagged["flag_kinds"].map(", ".join))
    widgets.text_table(
        summary[["interaction_id", "language", "country", "outcome", "flag_kinds", "undone", "withheld"]]
    )
    for row in flagged.head(FLAGGED_SHOWN).itertuples():
        head = f"{row.interaction_id} · {row.outcome} · {', '.join(row.flag_kinds)} · undone: {row.undone}"
        with st.expander(plain(head)):
            if row.withheld:
                st.caption("Not enough interactions in this language or country: the texts are withheld.")
                continue
            cols = st.columns(3)
            for col, name, text in zip(
                cols, ("Draft", "Suggestion", "Final"), (row.draft, row.suggestion, row.final), strict=True
            ):
                with col:
                    st.markdown(f"**{name}**")
                    widgets.quote(text)
