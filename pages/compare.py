"""Compare: two outputs (two models, two prompts) or one output scored in two runs (e.g. CPU default vs GPU rescoring)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dembias.read.compare import cluster_flips, compare_metrics, comparison_refusal
from dembias.read.explain import metric_title
from dembias.read.page_findings import compare_finding
from dembias.read.verdict import model_label
from pages.ui import cache, render, state, widgets
from pages.ui.sidebar import sidebar
from pages.ui.text import plain


def sample_spread_section(sel: state.Selection, pluralism_run: str) -> None:
    """Per model (and model x prompt): one metric's mean across repeated samples, its SD, range and t interval."""
    st.subheader("Spread across repeated samples")
    spread = cache.run_sample_spread(sel.root, pluralism_run)
    if spread is None or spread.empty:
        st.info("This scoring run has no metric to show across samples.")
        return
    metrics = list(dict.fromkeys(spread["metric"]))
    default = metrics.index("survival") if "survival" in metrics else 0
    metric = st.selectbox(
        "Metric across samples", metrics, index=default, format_func=metric_title, key="w_spread_metric"
    )
    table = spread[spread["metric"] == metric].drop(columns=["metric"]).copy()
    prompts = table.dropna(subset=["prompt_id"]).groupby("model")["prompt_id"].nunique()
    single = set(prompts[prompts < 2].index)  # one prompt: its row would repeat the model's all-prompts row
    table = table[table["prompt_id"].isna() | ~table["model"].isin(single)]
    table["_per_prompt"] = table["prompt_id"].notna()  # each model's all-prompts row first, then its prompts
    table = table.sort_values(["model", "_per_prompt", "prompt_id"], kind="stable").drop(columns="_per_prompt")
    table["model"] = table["model"].map(model_label)
    table["prompt_id"] = table["prompt_id"].fillna("all prompts")
    table = table.rename(columns={"prompt_id": "prompt", "n_samples": "samples", "n_outputs": "outputs"})
    st.caption(
        "Each model's summaries generated several times with different seeds (`dembias generate --samples N "
        "--sample`). samples: the sampled runs (on the all-prompts row, every prompt's samples); mean: over them; "
        "sd: between them; low-high: 95% t interval of the mean. A low mean with a small sd is the model; a wide "
        "range is the luck of the draw. With one sample there is no spread to show; with under 5 the interval is "
        "very wide and may leave the metric's range (it says how little so few draws tell)."
    )
    labels = {"mean": "mean", "sd": "SD between samples", "min": "min", "max": "max"}
    labels |= {"low": "95% t interval: low", "high": "95% t interval: high"}
    shown = table.copy()
    for column in labels:  # one sample has no spread: "—", never an empty cell (the CSV keeps the numbers)
        shown[column] = ["—" if pd.isna(v) else f"{v:.3f}" for v in shown[column]]
    widgets.text_table(shown, column_config={c: st.column_config.TextColumn(label) for c, label in labels.items()})
    if int(table["samples"].max()) < 2:
        st.info("Every model here has a single sample: generate repeated samples to see the spread.")
    widgets.download(table, f"{sel.debate_id}-sample-spread")


sel = sidebar()
if sel is None:
    st.stop()
st.title("Compare")
finding_slot = st.empty()  # the finding, first on the page, written once A and B are known
render.quality_badge(sel)
runs = cache.runs(sel.root, cache.version(sel.ws), "pluralism", sel.debate_id)
if not runs:
    render.unscored_box(sel)
    st.info(f"No pluralism scoring run for {plain(sel.debate_id)} yet: Compare needs one.")
    st.stop()

mode = widgets.choice("Compare", ["two outputs", "two runs"], key="cmode")


def run_label(run: dict) -> str:
    params = run.get("params", {})
    extra = f" · rescores {run['rescores']}" if run.get("rescores") else ""
    return f"{run['run_id']} · {params.get('link_method') or params.get('embedder') or ''}{extra}"


labels = {r["run_id"]: run_label(r) for r in runs}
run_ids = list(labels)

if mode == "two outputs":
    state.set_params(runa=None, runb=None, cout=None)
    run_a = run_b = widgets.url_select("Scoring run", run_ids, key="crun", format_func=labels.get)
    scores = cache.scorecard(sel.root, run_a)
    models = dict(zip(scores["output_id"], scores["model"], strict=True))
    ids = list(models)
    default_a = sel.output_id if sel.output_id in ids else ids[0]
    default_b = next((o for o in ids if o != default_a), ids[0])
    col_a, col_b = st.columns(2)
    out_a = widgets.url_select("Output A", ids, key="outa", default=default_a, container=col_a, format_func=models.get)
    out_b = widgets.url_select("Output B", ids, key="outb", default=default_b, container=col_b, format_func=models.get)
    row_a = scores.set_index("output_id").loc[out_a]
    row_b = scores.set_index("output_id").loc[out_b]
    same_mapping = True
    mapping_a = mapping_b = sel.mapping_run
else:
    state.set_params(crun=None, outa=None, outb=None)
    col_a, col_b = st.columns(2)
    run_a = widgets.url_select(
        "Run A", run_ids, key="runa", default=run_ids[min(1, len(run_ids) - 1)], container=col_a, format_func=labels.get
    )
    run_b = widgets.url_select(
        "Run B", run_ids, key="runb", default=run_ids[0], container=col_b, format_func=labels.get
    )
    scores_a = cache.scorecard(sel.root, run_a).set_index("output_id")
    scores_b = cache.scorecard(sel.root, run_b).set_index("output_id")
    common = [o for o in scores_a.index if o in scores_b.index]
    if not common:
        st.warning("These two runs scored no output in common.")
        st.stop()
    out_a = out_b = widgets.url_select(
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
widgets.text_table(shown.round(3))
if mode == "two outputs":
    label_a, label_b = f"output A ({model_label(models[out_a])})", f"Output B ({model_label(models[out_b])})"
else:
    label_a, label_b = f"run A ({run_a})", f"Run B ({run_b})"
with finding_slot.container():
    render.finding(
        compare_finding(table, label_a=label_a, label_b=label_b, titles={m: metric_title(m) for m in table["metric"]})
    )
moved = table[table["moved_beyond_intervals"] == True]  # noqa: E712 - the column holds True/False/None
if moved.empty:
    st.success("No metric moved beyond its 95% interval.")
else:
    st.warning("Moved beyond their intervals: " + ", ".join(moved["name"]))
widgets.download(table, f"{sel.debate_id}-compare-metrics")

# issue 21: each model's spread across repeated samples (before the cluster flips, which may stop the page)
sample_spread_section(sel, run_a)

st.subheader("Clusters that flip between surviving and dropped")
if not same_mapping or not mapping_a:
    st.info(
        "The two runs rest on different opinion maps, so their clusters are not the same objects; compare their "
        "metrics above, or rescore on the same mapping run to see cluster flips."
    )
    st.stop()
cov_a = cache.cluster_coverage(sel.root, pluralism_run=run_a, mapping_run=mapping_a, output_id=out_a)
cov_b = cache.cluster_coverage(sel.root, pluralism_run=run_b, mapping_run=mapping_b, output_id=out_b)
flips = cluster_flips(cov_a, cov_b)
n_flips = int(flips["change"].isin(["dropped in B", "gained in B"]).sum())
st.caption(f"{n_flips} cluster(s) flip between A and B.")
widgets.text_table(flips)
widgets.download(flips, f"{sel.debate_id}-compare-clusters")
