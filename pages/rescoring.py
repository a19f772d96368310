"""Rescoring: request jobs (bigger models, a GPU) that a separate `dembias worker` runs, and follow them.

This page never loads a model and never writes a database: it writes job request and cancel files
(``dembias.jobs``) and reads the worker's progress files.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dembias import jobs
from dembias.models.catalog import models_for_stage
from dembias.models.devices import detect_device
from dembias.read.page_findings import rescoring_finding
from pages.ui import cache, render, widgets
from pages.ui.sidebar import sidebar
from pages.ui.text import plain

STAGE_LABELS = {
    "embed": "Embed contributions",
    "map": "Re-map opinions (embed + cluster)",
    "pluralism": "Align and score pluralism of summaries",
    "fidelity": "Score fidelity of rewrites",
    "generate": "Generate outputs with a language model",
}
MODEL_ROLE = {"embed": "embedder", "map": "embedder", "pluralism": "NLI model", "fidelity": "NLI model"}
CUSTOM = "other (model id or local path)…"


@st.cache_data(show_spinner=False, ttl=60)
def local_device() -> dict:
    return detect_device(None).to_dict()


@st.cache_data(show_spinner=False, ttl=120)
def stage_models(stage: str) -> list[dict]:
    return [m.to_dict() for m in models_for_stage(stage)]


def gib(value: float | None) -> str:
    return "n/a" if value is None else f"{value / 2**30:.1f} GiB"


sel = sidebar()
if sel is None:
    st.stop()
ws = sel.ws
st.title("Rescoring")
render.finding(
    rescoring_finding(
        [{"state": j.status} for j in jobs.list_jobs(ws) if j.debate_id == sel.debate_id],
        n_runs=len(cache.runs(sel.root, cache.version(ws), "pluralism", sel.debate_id)),
    )
)
st.caption(
    "Jobs run in a separate worker process (`dembias worker`), never inside the dashboard; results land as "
    "new runs that record which run they rescore, so they can be compared."
)

# ---- where jobs will run
workers = jobs.live_workers(ws)
if workers:
    device = workers[0]["device"]
    st.success(f"{len(workers)} worker(s) running; jobs will use {device['device']} ({device['name']}).")
else:
    device = local_device()
    st.warning(
        f"No worker is running on this workspace. Start one: `dembias worker -w {ws.root}`. "
        f"On this machine jobs would use {device['device']}."
    )
cols = st.columns(3)
cols[0].metric("Device", device["device"])
cols[1].metric("Free memory", gib(device.get("free_bytes")))
cols[2].metric("Total memory", gib(device.get("total_bytes")))
if device.get("warning"):
    st.warning(device["warning"])

# ---- request a job
st.subheader("Request a job")
stage = st.radio("Stage", list(STAGE_LABELS), format_func=STAGE_LABELS.get, horizontal=True, key="w_rescore_stage")
available = stage_models(stage)
with st.form("rescore_request"):
    st.write(f"Debate: **{plain(sel.debate_id)}** (from the sidebar)")
    options = [m["spec"] for m in available] + [CUSTOM]
    default_label = {"pluralism": "none (similarity links only)", "fidelity": "none (no stance scoring)"}
    if stage in default_label:
        options = [default_label[stage], *options]
    chosen = st.selectbox(MODEL_ROLE.get(stage, "Language model"), options, key="w_rescore_model")
    custom = st.text_input("Model id or local path (when 'other')", key="w_rescore_custom")
    c1, c2, c3 = st.columns(3)
    device_choice = c1.selectbox("Device", ["auto", "cuda", "mps", "cpu"], key="w_rescore_device")
    batch_size = c2.number_input("Batch size (0: default)", min_value=0, value=0, step=8, key="w_rescore_batch")
    engine = c3.selectbox("Engine", ["local", "ray"] if stage == "embed" else ["local"], key="w_rescore_engine")
    params: dict = {}
    if stage == "generate":
        g1, g2 = st.columns(2)
        params["task"] = g1.selectbox("Task", ["summary", "reformulation", "translation"], key="w_rescore_task")
        limit = g2.number_input("At most N contributions (0: all)", min_value=0, value=20, key="w_rescore_limit")
        if limit:
            params["limit"] = int(limit)
        target = st.text_input("Target language of translations (e.g. fr)", key="w_rescore_target")
        if params["task"] == "translation" and target:
            params["target_language"] = target
    submitted = st.form_submit_button("Queue job", type="primary")
if submitted:
    if chosen == CUSTOM:
        model = custom  # an empty field is refused by jobs.submit_job (never a silent default)
    elif chosen in default_label.values():
        model = None
    else:
        model = chosen
    try:
        job = jobs.submit_job(
            ws,
            stage=stage,
            debate_id=sel.debate_id,
            model=model,
            device=device_choice,
            batch_size=int(batch_size) or None,
            engine=engine,
            params=params,
        )
    except Exception as exc:  # a refused request is shown, not raised
        st.error(str(exc))
    else:
        st.success(f"Queued {job.job_id}.")

if available:
    with st.expander(f"Models available locally for this stage ({len(available)})"):
        frame = pd.DataFrame(available)
        frame["size"] = frame["size_bytes"].map(lambda b: gib(b) if b else "")
        widgets.text_table(frame[["spec", "role", "source", "size", "note"]])


# ---- jobs and their progress
def job_rows(listed: list[jobs.Job]) -> pd.DataFrame:
    rows = []
    for job in listed:
        prog = jobs.read_progress(ws, job.job_id)
        rows.append(
            {
                "job": job.job_id,
                "status": job.status,
                "stage": job.stage,
                "debate": job.debate_id,
                "model": job.model or "default",
                "device": job.device or "auto",
                "done": prog.done if prog else None,
                "total": prog.total if prog else None,
                "rate /s": prog.rate if prog else None,
                "ETA s": prog.eta_s if prog and job.status == "running" else None,
                "attempts": job.attempts,
                "runs": ", ".join(job.result.get("run_ids", [])),
                "error": job.error or "",
            }
        )
    return pd.DataFrame(rows)


@st.fragment(run_every=2)
def job_panel() -> None:
    """Polls the job files every 2 seconds; Cancel and Resume only write files."""
    st.subheader("Jobs")
    only_debate = st.toggle("Only this debate", value=True, key="w_jobs_only_debate")
    listed = jobs.list_jobs(ws)  # dead workers' jobs marked failed; malformed job files quarantined
    bad = jobs.quarantined(ws)
    if bad:
        names = ", ".join(plain(name) for name, _why in bad[:5]) + (" ..." if len(bad) > 5 else "")
        st.warning(f"{len(bad)} malformed job file(s) set aside in jobs/quarantine/: {names}", icon="⚠️")
    if only_debate:
        listed = [j for j in listed if j.debate_id == sel.debate_id]
    if not listed:
        st.info("No job yet.")
        return
    for job in [j for j in listed if j.status == "running"]:
        prog = jobs.read_progress(ws, job.job_id)
        if prog is None or prog.fraction is None:
            st.progress(0.0, text=f"{job.job_id}: starting")
            continue
        rate = f" · {prog.rate:.1f} items/s" if prog.rate else ""
        eta = f" · ETA {prog.eta_s:.0f} s" if prog.eta_s is not None else ""
        st.progress(prog.fraction, text=f"{job.job_id}: {prog.done}/{prog.total}{rate}{eta}")
    widgets.text_table(job_rows(listed))
    ids = [j.job_id for j in listed]
    picked = st.selectbox("Job", ids, key="w_jobs_pick")
    job = next(j for j in listed if j.job_id == picked)
    b1, b2, _ = st.columns([1, 1, 4])
    if b1.button("Cancel", disabled=job.status not in ("queued", "running"), key="w_jobs_cancel"):
        jobs.cancel_job(ws, job.job_id)
        st.toast(f"Cancel requested for {job.job_id}")
        st.rerun()
    if b2.button("Resume", disabled=job.status not in ("failed", "cancelled"), key="w_jobs_resume"):
        jobs.resume_job(ws, job.job_id)
        st.toast(f"{job.job_id} queued again")
        st.rerun()


job_panel()
