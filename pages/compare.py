"""Compare: two outputs (two models, two prompts) or one output scored in two runs (e.g. CPU default vs GPU rescoring)."""

from __future__ import annotations

import streamlit as st

from dembias.read.compare import cluster_flips, compare_metrics, comparison_refusal
from dembias.read.explain import metric_title
from dembias.read.page_findings import compare_finding
from dembias.read.verdict import model_label
from pages import shared

sel = shared.sidebar()
if sel is None:
    st.stop()
st.title("Compare")
finding_slot = st.empty()  # the finding, first on the page, written once A and B are known
shared.quality_badge(sel)
runs = shared.runs(sel.root, shared.version(sel.ws), "pluralism", sel.debate_id)
if not runs:
    shared.unscored_box(sel)
    st.info(f"No pluralism scoring run for {shared.plain(sel.debate_id)} yet: Compare needs one.")
    st.stop()

mode = shared.choice("Compare", ["two outputs", "two runs"], key="cmode")


def run_label(run: dict) -> str:
    params = run.get("params", {})
    extra = f" · rescores {run['rescores']}" if run.get("rescores") else ""
    return f"{run['run_id']} · {params.get('link_method') or params.get('embedder') or ''}{extra}"


labels = {r["run_id"]: run_label(r) for r in runs}
run_ids = list(labels)

if mode == "two outputs":
    shared.set_params(runa=None, runb=None, cout=None)
    run_a = run_b = shared.url_select("Scoring run", run_ids, key="crun", format_func=labels.get)
    scores = shared.scorecard(sel.root, run_a)
    models = dict(zip(scores["output_id"], scores["model"], strict=True))
    ids = list(models)
    default_a = sel.output_id if sel.output_id in ids else ids[0]
    default_b = next((o for o in ids if o != default_a), ids[0])
    col_a, col_b = st.columns(2)
    out_a = shared.url_select("Output A", ids, key="outa", default=default_a, container=col_a, format_func=models.get)
    out_b = shared.url_select("Output B", ids, key="outb", default=default_b, container=col_b, format_func=models.get)
    row_a = scores.set_index("output_id").loc[out_a]
    row_b = scores.set_index("output_id").loc[out_b]
    same_mapping = True
    mapping_a = mapping_b = sel.mapping_run
else:
    shared.set_params(crun=None, outa=None, outb=None)
    col_a, col_b = st.columns(2)
    run_a = shared.url_select(
        "Run A", run_ids, key="runa", default=run_ids[min(1, len(run_ids) - 1)], container=col_a, format_func=labels.get
    )
    run_b = shared.url_select("Run B", run_ids, key="runb", default=run_ids[0], container=col_b, format_func=labels.get)
    scores_a = shared.scorecard(sel.root, run_a).set_index("output_id")
    scores_b = shared.scorecard(sel.root, run_b).set_index("output_id")
    common = [o for o in scores_a.index if o in scores_b.index]
    if not common:
        st.warning("These two runs scored no output in common.")
        st.stop()
    out_a = out_b = shared.url_select(
        "Output", common, key="cout", default=sel.output_id, format_func=lambda o: scores_a.loc[o, "model"]
    )
    row_a, row_b = scores_a.loc[out_a], scores_b.loc[out_b]
    inputs = {r["run_id"]: r.get("inputs", []) for r in runs}
    mapping_a = next((i for i in inputs[run_a] if i.startswith("mapping-")), None)
    mapping_b = next((i for i in inputs[run_b] if i.startswith("mapping-")), None)
    same_mapping = mapping_a is not None and mapping_a == mapping_b

refusal = comparison_refusal(
    mode=mode,
    run_a=run_a,
    run_b=run_b,
    output_a=out_a,
    output_b=out_b,
    n_runs=len(run_ids),
    n_outputs=len(ids) if mode == "two outputs" else 2,
)
if refusal:
    finding_slot.warning(refusal, icon="⚠️")
    st.stop()

st.subheader("Metrics")
table = compare_metrics(row_a, row_b)
table.insert(1, "name", table["metric"].map(metric_title))
# the metric's name first (pinned), its raw id last; missing bounds read "—" (dembias.read.vocabulary)
shown = table[["name", *[c for c in table.columns if c not in ("name", "metric")], "metric"]]
shared.text_table(shown.round(3))
if mode == "two outputs":
    label_a, label_b = f"output A ({model_label(models[out_a])})", f"Output B ({model_label(models[out_b])})"
else:
    label_a, label_b = f"run A ({run_a})", f"Run B ({run_b})"
with finding_slot.container():
    shared.finding(
        compare_finding(table, label_a=label_a, label_b=label_b, titles={m: metric_title(m) for m in table["metric"]})
    )
moved = table[table["moved_beyond_intervals"] == True]  # noqa: E712 - the column holds True/False/None
if moved.empty:
    st.success("No metric moved beyond its 95% interval.")
else:
    st.warning("Moved beyond their intervals: " + ", ".join(moved["name"]))
shared.download(table, f"{sel.debate_id}-compare-metrics")

# issue 21: each model's spread across repeated samples (before the cluster flips, which may stop the page)
shared.sample_spread_section(sel, run_a)

st.subheader("Clusters that flip between surviving and dropped")
if not same_mapping or not mapping_a:
    st.info(
        "The two runs rest on different opinion maps, so their clusters are not the same objects; compare their "
        "metrics above, or rescore on the same mapping run to see cluster flips."
    )
    st.stop()
cov_a = shared.cluster_coverage(sel.root, run_a, mapping_a, out_a)
cov_b = shared.cluster_coverage(sel.root, run_b, mapping_b, out_b)
flips = cluster_flips(cov_a, cov_b)
n_flips = int(flips["change"].isin(["dropped in B", "gained in B"]).sum())
st.caption(f"{n_flips} cluster(s) flip between A and B.")
shared.text_table(flips)
shared.download(flips, f"{sel.debate_id}-compare-clusters")
