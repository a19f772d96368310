"""``dembias validate`` on the demo: every control passes; a broken support test makes it fail."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from dembias.cli import app
from dembias.pluralism import support
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import latest_run, read_run_table


@pytest.mark.slow
def test_validate_passes_on_every_demo_debate(demo_ws):
    # the demo build already ran the battery: one validation run per debate, every check passing
    for debate_id in ("bowling-green", "klimarat-produktion-konsum", "nz-freshwater", "nz-ubi", "vtaiwan-uberx"):
        run = latest_run(demo_ws, stage="validation", debate_id=debate_id)
        assert run is not None, debate_id
        checks = read_run_table(demo_ws, run.run_id, "checks")
        assert checks["passed"].all(), checks[~checks["passed"]].to_dict("records")
        controls = set(read_run_table(demo_ws, run.run_id, "controls")["control"])
        assert {"vacuous", "title", "off_topic", "random_citations", "one_sided", "ideal"} <= controls
        assert run.manifest["params"]["support"]["null_language"] in {"en", "de", "zh", "all"}


@pytest.mark.slow
def test_validate_cli_fails_when_the_support_test_lets_anything_link(demo_ws, tmp_path, monkeypatch):
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(demo_ws.root, ws.root)
    result = CliRunner().invoke(
        app, ["validate", "-w", str(ws.root), "--debate", "nz-ubi", "--json", "--resamples", "100"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout[result.stdout.index("{") :])
    assert payload["passed"] and payload["n_failed"] == 0 and payload["n_checks"] == 15

    # a support test that accepts every pair (the per-output calibration's failure mode): controls must fail
    real = support.calibrate_support

    def lax(*args, **kwargs):
        cal = real(*args, **kwargs)
        return support.SupportCalibration(-1.0, -1.0, -1.0, -1.0, -1.0, cal.centroid, cal.info)

    monkeypatch.setattr("dembias.pluralism.scoring.calibrate_support", lax)
    result = CliRunner().invoke(
        app, ["validate", "-w", str(ws.root), "--debate", "nz-ubi", "--json", "--resamples", "100"]
    )
    assert result.exit_code == 1
    payload = json.loads(result.stdout[result.stdout.index("{") :])
    failed = {(c["control"], c["check"]) for d in payload["debates"] for c in d["checks"] if not c["passed"]}
    assert ("off_topic", "survival near 0") in failed and ("off_topic", "coverage near 0") in failed
