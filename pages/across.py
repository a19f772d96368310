"""Across debates and models: minority coverage and under-representation of every output, next to its debate's
baselines' band; coverage and fidelity by country and language across debates."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dembias.read.across import MATRIX_METRICS, across_finding
from dembias.read.verdict import model_label
from pages.ui import cache, widgets
from pages.ui.sidebar import sidebar
from pages.ui.text import plain


def cell(row: pd.Series) -> str:
    """``value [low, high] n=…`` as the reader sees it (the CSV keeps the numbers apart)."""
    if pd.isna(row["value"]):
        return "withheld (small cell)" if row.get("suppressed") else "–"
    text = f"{row['value']:.2f}"
    if pd.notna(row["low"]) and pd.notna(row["high"]):
        text += f" [{row['low']:.2f}, {row['high']:.2f}]"
    return text + (f" n={int(row['n'])}" if pd.notna(row["n"]) else "")


def pooled_cell(row: pd.Series, single: str) -> str:
    """A model's cell: its one value (``single``), or over repeated samples its mean, SD, range and count."""
    if int(row["n_samples"]) < 2:
        return single
    text = f"{row['mean']:.2f} ± {row['sd']:.2f} SD over {int(row['n_samples'])} samples ({row['min']:.2f}–{row['max']:.2f})"
    return text + (f", worse than every baseline in {int(row['worse_in'])}" if row["worse_in"] else "")


def heat(frame: pd.DataFrame, status: pd.DataFrame) -> pd.io.formats.style.Styler:
    """Colour each cell by how it compares with its debate's baselines: red worse than all, green better than all."""
    colours = {"worse": "background-color:#ffe3e3", "better": "background-color:#d3f9d8", "": ""}
    return frame.style.apply(lambda _col: [colours[v] for v in status[_col.name]], axis=0, subset=list(status.columns))


def metric_table(table: pd.DataFrame, by_model: pd.DataFrame, metric: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Debates as rows, models as columns, the baselines' band last. A cell is ``value [low, high] n`` for a model
    with one output, and its mean ± SD over samples (range, samples worse than every baseline) for a model
    sampled several times (``by_model``: :func:`dembias.read.across.matrix_by_model`)."""
    part = table[table["metric"] == metric].copy()
    higher = MATRIX_METRICS[metric][1]
    part["text"] = part.apply(cell, axis=1)
    single = part.groupby(["debate_id", "model"])["text"].first()
    pooled_rows = by_model[(by_model["metric"] == metric) & ~by_model["is_baseline"]].copy()
    pooled_rows["model_name"] = [model_label(m) for m in pooled_rows["model"]]
    pooled_rows["text"] = [
        pooled_cell(r, single.get((r["debate_id"], r["model"]), "–")) for _, r in pooled_rows.iterrows()
    ]
    better = (
        (pooled_rows["min"] > pooled_rows["band_high"]) if higher else (pooled_rows["max"] < pooled_rows["band_low"])
    )
    every = pooled_rows["worse_in"] == pooled_rows["n_samples"]
    pooled_rows["status"] = ["worse" if w else ("better" if b else "") for w, b in zip(every, better, strict=True)]
    wide = pooled_rows.pivot_table(index="debate_id", columns="model_name", values="text", aggfunc="first")
    status = pooled_rows.pivot_table(index="debate_id", columns="model_name", values="status", aggfunc="first")
    band = part.groupby("debate_id")[["band_low", "band_high"]].first()
    wide = wide.reindex(band.index)
    status = status.reindex(band.index).fillna("")
    wide["baselines' band (min–max)"] = [
        f"{lo:.2f} – {hi:.2f}" if pd.notna(lo) else "no baselines"
        for lo, hi in zip(band["band_low"], band["band_high"], strict=True)
    ]
    wide = wide.fillna("no output").reset_index().rename(columns={"debate_id": "debate"})
    return wide, status.reset_index(drop=True)


sel = sidebar()
if sel is None:
    st.stop()
st.title("Across debates and models")
table = cache.minority_matrix(sel.root, cache.version(sel.ws))
if table.empty:
    st.info("No pluralism scoring run yet: `dembias score pluralism` scores every debate's summaries.")
    st.stop()
st.info("**Finding.** " + plain(across_finding(table)))
st.caption(
    "Each debate's newest pluralism run. The baselines' band is the range of the debate's baseline extracts "
    "(`baseline:*`: random, centroid, top-voted, maximal marginal relevance, cluster representatives); a cell is red "
    "when the model does worse than every baseline (in every sample, for a model sampled several times), green when "
    "it does better than every one. A model generated several times (`dembias generate --samples N`) shows its mean "
    "± SD over the samples and their range, so one unlucky sample is told apart from the model. "
    "Values with their 95% bootstrap interval and n (what the value is over)."
)
metric = widgets.choice("Measure", list(MATRIX_METRICS), key="xmetric", format_func=lambda m: MATRIX_METRICS[m][0])
wide, status = metric_table(table, cache.matrix_by_model(sel.root, cache.version(sel.ws)), metric)
widgets.text_table(heat(wide, status))
st.caption(
    {
        "minority_topic_survival": "Share of the smallest topics (clusters together holding 20% of the contributions) "
        "that the summary carries; n = number of such topics. Higher is better.",
        "minority_group_share": "The smallest opinion group's share of the sentences that speak for a group, divided by "
        "its share of the participants (1 = in proportion, 0 = no sentence); n = its participants. Higher is better.",
        "uer_topics": "Mean shortfall of each topic's share in the summary below its share in the debate "
        "(Zhang et al. 2024); n = topics. Lower is better.",
        "uer_opinion_groups": "The same over opinion groups (vote groups); n = groups. Lower is better.",
    }[metric]
)
widgets.download(table, "across-debates-minority-matrix", label="Download the matrix (CSV, every metric)")
widgets.download(
    cache.matrix_by_model(sel.root, cache.version(sel.ws)),
    "across-debates-by-model-over-samples",
    label="Download per model over samples (CSV: mean, SD, min, max, t interval)",
)

st.subheader("By country and language, across debates")
place = cache.by_place(sel.root, cache.version(sel.ws))
if place.empty:
    st.caption("No coverage by country or language in the runs.")
    st.stop()
st.caption(
    "Summary coverage: the mean chance that a contribution from this country or language is carried by the summary. "
    "Rewrite similarity: mean similarity between a contribution and its rewrite or translation (fidelity run). "
    "Cells of fewer than 5 contributors are withheld."
)
shown = place.assign(
    model=[model_label(m) if m != "all rewrites" else m for m in place["model"]],
    text=place.apply(cell, axis=1),
)
for dim, name in (("country", "Country"), ("language", "Language")):
    part = shown[shown["dimension"] == dim]
    if part.empty:
        continue
    wide = part.pivot_table(index=["place", "debate_id"], columns=["measure", "model"], values="text", aggfunc="first")
    wide.columns = [f"{measure}: {model}" for measure, model in wide.columns]
    st.markdown(f"**By {dim}**")
    widgets.text_table(wide.fillna("").reset_index().rename(columns={"place": name, "debate_id": "debate"}))
widgets.download(place, "across-debates-by-country-language", label="Download by country and language (CSV)")
