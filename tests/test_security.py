"""What a second viewer, a bad file, a crash or another local user must not be able to break, read or run.

Each test reproduces one finding of the security review (issue 20) on a small hand-made workspace; the
browser-level ones live in tests/test_security_browser.py.
"""

from __future__ import annotations

import csv
import hashlib
import importlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import plotly

# --------------------------------------------------------------------------------------------------
# the map component's plotly.js


def test_plotly_js_is_served_from_the_installed_package_never_a_shared_temp_folder(tmp_path, monkeypatch):
    """A local user who creates the old predictable temp folder first cannot plant a script or a symlink."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    real = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    planted = tmp_path / f"dembias-plotly-{plotly.__version__}-{os.getuid()}"
    planted.mkdir()
    evil = b"alert(1);//" + b" " * (len(real) - len(b"alert(1);//"))  # same size as the real file
    (planted / "plotly.min.js").write_bytes(evil)
    victim = tmp_path / "victim"
    victim.write_text("private")
    victim.chmod(0o600)
    (planted / f".plotly.min.js.{os.getpid()}").symlink_to(victim)

    from pages.ui import map_chart

    map_chart = importlib.reload(map_chart)
    served = map_chart.assets_folder() / "plotly.min.js"
    assert hashlib.sha256(served.read_bytes()).digest() == hashlib.sha256(real).digest()
    assert not str(map_chart.assets_folder()).startswith(str(tmp_path))
    assert victim.read_text() == "private"  # the symlink was not followed
    assert (planted / "plotly.min.js").read_bytes() == evil  # nothing of ours was written there


def test_a_tampered_plotly_js_is_refused(tmp_path, monkeypatch):
    """The served file must match the hash pip recorded for it: a changed file stops the page."""
    from pages.ui import map_chart

    copy = tmp_path / "package_data" / "plotly.min.js"
    copy.parent.mkdir()
    copy.write_bytes(b"alert(1)")
    monkeypatch.setattr(map_chart, "PLOTLY_JS", copy)
    monkeypatch.setattr(map_chart, "_recorded_sha256", lambda: "O24V1F27f8pb0glCkelh3cVHLNiHAJ5gCaVtq2aNch8")
    try:
        map_chart.assets_folder()
    except RuntimeError as exc:
        assert "differs" in str(exc)
    else:
        raise AssertionError("a tampered plotly.min.js was accepted")
    link = tmp_path / "package_data" / "link.js"
    link.symlink_to(copy)
    monkeypatch.setattr(map_chart, "PLOTLY_JS", link)
    try:
        map_chart.assets_folder()
    except RuntimeError as exc:
        assert "not a regular file" in str(exc)
    else:
        raise AssertionError("a symlinked plotly.min.js was accepted")


# --------------------------------------------------------------------------------------------------
# spreadsheet formulas: one guard, lookalikes and line breaks included


def test_formula_guard_covers_lookalikes_invisible_prefixes_and_bare_carriage_returns():
    from dembias.read.export import neutralise_cell, to_csv_bytes

    dangerous = [
        "＋1+1",
        "＝1+1",
        "－2+3",
        "＠SUM(A1)",
        "﹦1",
        "﹢1",
        "\u22122+3",
        "\u200b=1",
        "\ufeff=1",
        " =1",
        "\n=1",
    ]
    assert [neutralise_cell(v)[:1] for v in dangerous] == ["'"] * len(dangerous)
    assert [neutralise_cell(v) for v in ("plain", "a=b", "1+1", "", "ＡＢ")] == ["plain", "a=b", "1+1", "", "ＡＢ"]
    assert neutralise_cell(3) == 3 and neutralise_cell(None) is None
    # a bare CR would end the row in a spreadsheet, so that the next line starts a cell of its own
    frame = pd.DataFrame({"note": ['ok\r=HYPERLINK("http://127.0.0.2")', "fine"], "n": [1, 2]})
    text = to_csv_bytes(frame).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text.replace("\r\n", "\n")), lineterminator="\n"))
    assert rows == [["note", "n"], ['ok\n=HYPERLINK("http://127.0.0.2")', "1"], ["fine", "2"]]
    assert all(not line.startswith("=") for line in re.split(r"\r(?!\n)", text))
    assert "\r" not in text


def test_the_cli_per_contribution_csv_uses_the_same_guard(tmp_path):
    from dembias.cli import pluralism_commands

    frame = pd.DataFrame({"contribution_id": ["＋1", "\u2212cmd", "ok"], "text": ["a\rb", "=x", "y"]})
    path = tmp_path / "per.csv"
    pluralism_commands.write_per_contribution(path, frame)
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[1:] == [["'＋1", "a\nb"], ["'\u2212cmd", "'=x"], ["ok", "y"]]


def test_streamlit_client_options_hide_the_toolbar_export_and_error_details():
    import tomllib

    config = tomllib.loads((Path(__file__).resolve().parent.parent / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True
    assert config["client"]["showErrorDetails"] == "none"
    from pages.ui.access import CLIENT_OPTIONS

    assert CLIENT_OPTIONS == {"client.disableDataExport": True, "client.showErrorDetails": "none"}


# --------------------------------------------------------------------------------------------------
# concurrent viewers


def _tiny_ws(root: Path):
    from dembias.ingest import ingest_polis
    from dembias.workspace.folder import Workspace
    from tests.helpers import polis_folder

    ws = Workspace(root / "ws")
    ingest_polis(ws, polis_folder(root / "polis"), debate_id="testville")
    return ws


def test_concurrent_readers_attach_runs_without_colliding(tmp_path):
    """20 threads (20 viewers of one dashboard process) read the same runs at once: every read succeeds."""
    import threading

    from dembias.read import queries
    from dembias.workspace.runs import write_run

    ws = _tiny_ws(tmp_path)
    assignments = pd.DataFrame(
        {"contribution_id": ["0", "1", "2"], "cluster": [0, 1, 1], "x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 0.5]}
    )
    clusters = pd.DataFrame({"cluster": [0, 1], "label": ["bikes", "taxes"]})
    run = write_run(
        ws, stage="mapping", debate_id="testville", tables={"assignments": assignments, "clusters": clusters}
    )
    errors: list[str] = []
    results: list[int] = []
    start = threading.Barrier(20)

    def viewer() -> None:
        start.wait()
        for _ in range(5):
            try:
                points = queries.map_points(ws, debate_id="testville", mapping_run=run.run_id)
                detail = queries.contributions_detail(
                    ws, debate_id="testville", mapping_run=run.run_id, contribution_ids=["0", "1"]
                )
                results.append(len(points) + len(detail))
            except Exception as exc:  # every failure is the finding
                errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=viewer) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results == [5] * 100


# --------------------------------------------------------------------------------------------------
# temporary copies of the corpus


def test_copies_left_by_a_killed_writer_are_removed_by_the_next_one(tmp_path):
    from dembias.ingest import ingest_polis
    from tests.helpers import polis_folder

    ws = _tiny_ws(tmp_path)
    stale = [ws.root / ".corpus-deadbeef.tmp.duckdb", ws.root / ".corpus-deadbeef.tmp.duckdb.wal"]
    for path in stale:
        path.write_bytes(ws.corpus_path.read_bytes())  # a full, unredacted copy, as a SIGKILL leaves it
    ingest_polis(ws, polis_folder(tmp_path / "polis2"), debate_id="other")
    assert [p for p in stale if p.exists()] == []
    assert sorted(p.name for p in ws.root.iterdir() if ".tmp." in p.name) == []


# --------------------------------------------------------------------------------------------------
# bad files: ragged rows, over-long texts, things that are not regular files


def _refused(call, **expected):
    """Run ``call``; it must raise IngestError with the given attributes (file, row, field ...)."""
    from dembias.errors import IngestError

    try:
        call()
    except IngestError as exc:
        for name, value in expected.items():
            assert getattr(exc, name) == value, (name, str(exc))
        return exc
    raise AssertionError("accepted")


def test_ragged_csv_rows_are_refused_naming_file_row_and_field(tmp_path):
    from dembias.ingest import ingest_contributions
    from dembias.workspace.folder import Workspace
    from tests.helpers import tree_digest, write

    ws = Workspace(tmp_path / "ws")
    good = write(tmp_path / "good.csv", "id,text\n1,hello\n")
    ingest_contributions(ws, good, debate_id="d")
    before = tree_digest(ws.root)
    extra_first = write(tmp_path / "extra.csv", "id,text\n1,hello,extra\n2,fine\n")  # pandas took 'hello' as the id
    exc = _refused(lambda: ingest_contributions(ws, extra_first, debate_id="e"), file=str(extra_first), row=2)
    assert "3 fields where the header has 2" in str(exc) and "'extra'" in str(exc)
    short = write(tmp_path / "short.csv", 'id,text,country\n1,"a, b",FR\n\n2,two\n')
    _refused(lambda: ingest_contributions(ws, short, debate_id="e"), file=str(short), row=3, field="country")
    assert tree_digest(ws.root) == before


def test_an_over_long_contribution_is_refused_with_a_configurable_limit(tmp_path, monkeypatch):
    from dembias.ingest import ingest_contributions, ingest_polis
    from dembias.workspace.folder import Workspace
    from tests.helpers import polis_folder, write

    ws = Workspace(tmp_path / "ws")
    long = write(tmp_path / "long.csv", "id,text\n1,short\n2," + "x" * 100_001 + "\n")
    exc = _refused(lambda: ingest_contributions(ws, long, debate_id="d"), row=3, field="text")
    assert "100,001 characters, longer than the limit of 100,000" in str(exc) and "DEMBIAS_MAX_TEXT_CHARS" in str(exc)
    comments = "comment-id,author-id,agrees,disagrees,moderated,comment-body\n0,1,0,0,1," + "y" * 60 + "\n"
    folder = polis_folder(tmp_path / "polis", comments=comments)
    monkeypatch.setenv("DEMBIAS_MAX_TEXT_CHARS", "50")
    _refused(lambda: ingest_polis(ws, folder, debate_id="p"), row=2, field="comment-body")
    monkeypatch.setenv("DEMBIAS_MAX_TEXT_CHARS", "200000")
    assert ingest_contributions(ws, long, debate_id="d")["d"]["contributions"] == 2
    monkeypatch.setenv("DEMBIAS_MAX_TEXT_CHARS", "lots")
    _refused(lambda: ingest_contributions(ws, long, debate_id="x", replace=True))


def _release_fifo_readers(fifo: Path, seconds: float = 5.0) -> None:
    """After ``seconds``, give any reader blocked on ``fifo`` an end of file (the test then fails, not hangs)."""
    time.sleep(seconds)
    for _ in range(100):
        try:
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:  # no reader: nothing is blocked on it
            time.sleep(0.1)


def test_inputs_that_are_not_regular_files_are_refused_at_once(tmp_path):
    from dembias.ingest import ingest_contributions, ingest_polis
    from dembias.workspace.folder import Workspace
    from tests.helpers import polis_folder

    ws = Workspace(tmp_path / "ws")
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)  # reading it would block forever, holding the writer lock
    threading.Thread(target=_release_fifo_readers, args=(fifo,), daemon=True).start()  # fail, not hang, if read
    exc = _refused(lambda: ingest_contributions(ws, fifo, debate_id="d"), file=str(fifo))
    assert "not a regular file" in str(exc)
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    assert "a directory" in str(_refused(lambda: ingest_contributions(ws, folder, debate_id="d")))
    export = polis_folder(tmp_path / "polis", votes=None)
    (export / "votes.csv").symlink_to(tmp_path / "gone.csv")  # was ignored: 0 votes landed, silently
    exc = _refused(lambda: ingest_polis(ws, export, debate_id="p"), file=str(export / "votes.csv"))
    assert "symlink to a missing file" in str(exc)


# --------------------------------------------------------------------------------------------------
# malformed job files and killed jobs


def test_malformed_job_files_are_quarantined_never_fatal(tmp_path):
    """`[1]`, a record without job_id, bad JSON and a bad stage crashed the worker at every start,
    `rescore --list` and the Rescoring page; they are moved to jobs/quarantine with a reason."""
    from typer.testing import CliRunner

    from dembias import jobs
    from dembias.cli import app

    ws = _tiny_ws(tmp_path)
    good = jobs.submit_job(ws, stage="embed", debate_id="testville", model="fake:8")
    queued = jobs.jobs_root(ws) / "queued"
    bad = {
        "job-20260101T000000-00000001.json": "[1]",
        "job-20260101T000000-00000002.json": json.dumps({"stage": "embed", "debate_id": "testville"}),
        "job-20260101T000000-00000003.json": "{not json",
        "job-20260101T000000-00000004.json": json.dumps(
            {"job_id": "job-20260101T000000-00000004", "stage": "rm -rf", "debate_id": "testville"}
        ),
        "notes.json": "{}",
    }
    for name, text in bad.items():
        (queued / name).write_text(text)
    running = jobs.jobs_root(ws) / "running"
    running.mkdir(parents=True, exist_ok=True)
    (running / "job-20260101T000000-00000005.json").write_text('"just a string"')
    (jobs.jobs_root(ws) / "progress").mkdir(exist_ok=True)
    (jobs.jobs_root(ws) / "progress" / f"{good.job_id}.json").write_text('{"done": "lots", "total": [1]}')
    workers = jobs.jobs_root(ws) / "workers"
    workers.mkdir(exist_ok=True)
    (workers / "elsewhere-1.json").write_text('{"host": "elsewhere", "pid": 1, "updated_at": "yesterday"}')

    listed = CliRunner().invoke(app, ["rescore", "--list", "-w", str(ws.root)])
    assert listed.exit_code == 0, listed.output
    assert good.job_id in listed.output and "quarantine" in listed.output
    assert jobs.read_progress(ws, good.job_id) is None
    assert jobs.live_workers(ws) == []
    moved = dict(jobs.quarantined(ws))
    assert set(moved) == {f"queued-{n}" for n in bad} | {"running-job-20260101T000000-00000005.json"}
    assert "not a JSON object" in moved["queued-job-20260101T000000-00000001.json"]
    assert "job_id" in moved["queued-job-20260101T000000-00000002.json"]
    assert "not valid JSON" in moved["queued-job-20260101T000000-00000003.json"]
    assert "bad stage" in moved["queued-job-20260101T000000-00000004.json"]
    # the worker starts and runs the good job
    (queued / "job-20260101T000000-00000006.json").write_text("[2]")
    (done,) = jobs.run_worker(ws, drain=True)
    assert (done.job_id, done.status) == (good.job_id, "done")
    assert "queued-job-20260101T000000-00000006.json" in dict(jobs.quarantined(ws))


def test_a_killed_job_is_shown_failed_not_running(tmp_path):
    from dembias import jobs

    ws = _tiny_ws(tmp_path)
    job = jobs.submit_job(ws, stage="embed", debate_id="testville", model="fake:8")
    claimed = jobs.claim_next(ws)
    assert claimed.job_id == job.job_id
    record = claimed.to_dict()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    record["pid"] = dead.pid  # the worker was killed (-9): its pid is gone
    (jobs.jobs_root(ws) / "running" / f"{job.job_id}.json").write_text(json.dumps(record))
    [listed] = jobs.list_jobs(ws)
    assert (listed.status, listed.error) == ("failed", f"worker died (pid {dead.pid} on {record['host']})")


# --------------------------------------------------------------------------------------------------
# bad run manifests, truncated files, what a viewer is shown


def test_a_manifest_that_is_not_an_object_is_skipped_not_fatal(tmp_path, caplog):
    from dembias.workspace.runs import list_runs, write_run

    ws = _tiny_ws(tmp_path)
    good = write_run(ws, stage="mapping", debate_id="testville", tables={"t": pd.DataFrame({"a": [1]})})
    for run_id, text in {
        "mapping-20260101T000000-00000001": "[1, 2]",
        "mapping-20260101T000000-00000002": json.dumps({"run_id": "mapping-20260101T000000-00000002"}),
        "mapping-20260101T000000-00000003": json.dumps(
            {"run_id": "../x", "stage": "mapping", "created_at": "2026-01-01T00:00:00"}
        ),
    }.items():
        (ws.runs_dir / f"{run_id}.json").write_text(text)
        (ws.runs_dir / f"{run_id}.duckdb").write_bytes(b"")
    assert [r.run_id for r in list_runs(ws)] == [good.run_id]
    assert caplog.text.count("run manifest skipped") == 3


def test_a_truncated_corpus_is_a_store_error_and_viewers_see_no_server_path(tmp_path):
    from dembias.errors import StoreError
    from dembias.read import queries
    from pages.ui.access import for_viewer

    ws = _tiny_ws(tmp_path)
    data = ws.corpus_path.read_bytes()
    ws.corpus_path.write_bytes(data[: len(data) // 3])
    for call in (
        lambda: queries.debates_table(ws),
        lambda: queries.contribution_texts(ws, debate_id="testville", contribution_ids=["0"]),
    ):
        try:
            call()
        except StoreError as exc:
            assert "corpus.duckdb" in str(exc) and str(tmp_path) in str(exc)
            shown = for_viewer(exc)
            assert "corpus.duckdb" in shown and str(tmp_path) not in shown and "/" not in shown
        else:
            raise AssertionError("a truncated corpus was read")


# --------------------------------------------------------------------------------------------------
# private files


def _modes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): oct(p.stat().st_mode & 0o777) for p in [root, *root.rglob("*")]}


def test_workspace_files_are_private_even_under_a_permissive_umask(tmp_path):
    """Corpus, runs, manifests, state and job files were 0644 (readable by every local user)."""
    from dembias import jobs
    from dembias.workspace.annotations import Annotation, add_annotation
    from dembias.workspace.runs import write_run

    old = os.umask(0o022)
    try:
        ws = _tiny_ws(tmp_path)
        write_run(ws, stage="mapping", debate_id="testville", tables={"t": pd.DataFrame({"a": [1]})})
        add_annotation(ws.state_path, Annotation("testville", "contribution", "0", "other", note="n"))
        jobs.submit_job(ws, stage="embed", debate_id="testville", model="fake:8")
    finally:
        os.umask(old)
    modes = _modes(ws.root)
    loose = {name: mode for name, mode in modes.items() if int(mode, 8) & 0o077}
    assert loose == {}, loose
    assert "corpus.duckdb" in modes and "state.duckdb" in modes and any(n.startswith("jobs/queued/") for n in modes)


def test_the_console_script_creates_private_files(tmp_path):
    from tests.helpers import write

    source = write(tmp_path / "c.csv", "id,text\n1,hello\n")
    ws = tmp_path / "ws"
    command = [sys.executable, "-m", "dembias", "ingest", "contributions", str(source), "--debate", "d", "-w", str(ws)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, preexec_fn=lambda: os.umask(0o022))
    assert done.returncode == 0, done.stderr
    loose = {name: mode for name, mode in _modes(ws).items() if int(mode, 8) & 0o077}
    assert loose == {}, loose


def test_a_blank_debate_id_is_refused(tmp_path):
    from typer.testing import CliRunner

    from dembias.cli import app
    from tests.helpers import write

    source = write(tmp_path / "c.csv", "id,text\n1,hello\n")
    for debate in ("", "   ", "a\nb"):
        done = CliRunner().invoke(
            app, ["ingest", "contributions", str(source), "--debate", debate, "-w", str(tmp_path / "ws")]
        )
        assert done.exit_code != 0 and "debate id" in str(done.exception), (debate, done.output)


def test_missing_column_names_the_file_header_and_a_row_column_is_reserved(tmp_path):
    from dembias.ingest import ingest_contributions
    from dembias.workspace.folder import Workspace
    from tests.helpers import write

    ws = Workspace(tmp_path / "ws")
    body = write(tmp_path / "body.csv", "contribution_id,body,region\n1,hello,north\n")
    exc = _refused(lambda: ingest_contributions(ws, body, debate_id="d"), row=1, field="id")
    assert "['contribution_id', 'body', 'region']" in str(exc) and "--map id=" in str(exc)
    rows = write(tmp_path / "rows.csv", "id,text,_row\n1,hello,mine\n")  # was overwritten by the row number
    _refused(lambda: ingest_contributions(ws, rows, debate_id="d"), row=1, field="_row")


def test_run_files_left_by_a_killed_writer_are_removed_by_the_next_run(tmp_path):
    from dembias.workspace.runs import write_run

    ws = _tiny_ws(tmp_path)
    ws.runs_dir.mkdir(exist_ok=True)
    stale = ws.runs_dir / ".mapping-20260101T000000-00000001.tmp.duckdb"
    fresh = ws.runs_dir / ".mapping-20260101T000000-00000002.tmp.duckdb"  # a writer at work right now
    for path in (stale, fresh):
        path.write_bytes(b"partial")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    write_run(ws, stage="mapping", debate_id="testville", tables={"t": pd.DataFrame({"a": [1]})})
    assert not stale.exists() and fresh.exists()


def test_pooled_readers_see_a_replaced_corpus_and_leave_no_alias_behind(tmp_path):
    from dembias.ingest import ingest_polis
    from dembias.read import queries
    from dembias.workspace.runs import write_run
    from tests.helpers import polis_folder

    ws = _tiny_ws(tmp_path)
    run = write_run(ws, stage="mapping", debate_id="testville", tables={"t": pd.DataFrame({"a": [1]})})

    def debates() -> list[str]:
        with queries.corpus_with_runs(ws, {"m": run.run_id}) as con:
            names = {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
            assert "m" in names
            return [r[0] for r in con.execute("SELECT debate_id FROM debates ORDER BY debate_id").fetchall()]

    assert debates() == ["testville"]
    with queries.corpus_with_runs(ws, {}) as con:  # the pooled instance again: the run was detached
        assert "m" not in {r[0] for r in con.execute("SELECT database_name FROM duckdb_databases()").fetchall()}
    ingest_polis(ws, polis_folder(tmp_path / "polis2"), debate_id="other")  # the corpus is replaced by rename
    assert debates() == ["other", "testville"]


def test_a_truncated_state_file_is_a_store_error(tmp_path):
    from dembias.errors import StoreError
    from dembias.workspace.annotations import Annotation, add_annotation, list_annotations

    state = tmp_path / "state.duckdb"
    for i in range(50):
        add_annotation(state, Annotation("d", "contribution", str(i), "other", note="n" * 200))
    data = state.read_bytes()
    state.write_bytes(data[: len(data) // 3])
    try:
        list_annotations(state)
    except StoreError as exc:
        assert "state.duckdb" in str(exc)
    else:
        raise AssertionError("a truncated state file was read")
