"""Benchmark specs: strict validation, the between-sample spread, and a tiny spec run end to end with SmolLM2."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dembias.errors import DembiasError, IngestError
from dembias.jobs.benchmark_spec import load_spec
from dembias.read.sample_spread import sample_spread, spread_by_levels
from dembias.workspace.folder import Workspace

from .helpers import write
from .test_generate import tiny_model_dir  # noqa: F401 - a fixture: a tiny random Llama saved to disk

TEXTS = [
    ("1", "t0::We should build more bike lanes downtown."),
    ("2", "t0::Bike lanes make the city safer for children."),
    ("3", "t0::More bike lanes would cut traffic."),
    ("4", "t1::A basic income would support people who care for family."),
    ("5", "t1::Basic income could cause inflation."),
    ("6", "t2::Farmers should keep rivers clean."),
]

SPEC = """
output: out
samples: 2
decoding: {temperature: 0.8, seed: 1}
models:
  - {spec: MODEL, device: cpu, threads: 1, batch_size: 4}
debates: [d1]
tasks:
  summary: {prompts: [summary-v1, summary-v2], max_new_tokens: 24, context_tokens: 512, strata: none}
  translation: {languages: [fr], limit: 2, max_new_tokens: 12, strata: none}
scoring: {resamples: 100, placebo: 0, n_null: 10, embedder: fake}
"""


# --------------------------------------------------------------------------------------------------
# the spread across samples (pure)


def test_sample_spread_averages_within_a_sample_then_spreads_across_samples() -> None:
    frame = pd.DataFrame(
        {
            "model": ["a"] * 5 + ["b"],
            "sample": [0, 0, 1, 2, 2, 0],
            "value": [0.2, 0.4, 0.5, 0.9, 0.7, 0.6],  # a's sample scores: 0.3, 0.5, 0.8
        }
    )
    spread = sample_spread(frame, value="value").set_index("model")
    a = spread.loc["a"]
    scores = np.array([0.3, 0.5, 0.8])
    half = stats.t.ppf(0.975, 2) * scores.std(ddof=1) / math.sqrt(3)
    assert (a["n_samples"], a["n_outputs"]) == (3, 5)
    assert a["mean"] == pytest.approx(scores.mean()) and a["sd"] == pytest.approx(scores.std(ddof=1))
    assert (a["min"], a["max"]) == pytest.approx((0.3, 0.8))
    assert (a["low"], a["high"]) == pytest.approx((scores.mean() - half, scores.mean() + half))
    b = spread.loc["b"]
    assert b["n_samples"] == 1 and b["mean"] == 0.6 and all(np.isnan(b[c]) for c in ("sd", "low", "high"))
    with pytest.raises(DembiasError, match="lack the column"):
        sample_spread(frame, value="nope")


def test_spread_by_levels_has_a_row_per_level_group_and_metric() -> None:
    frame = pd.DataFrame(
        {
            "model": ["a"] * 4,
            "prompt_id": ["p1", "p1", "p2", "p2"],
            "sample": [0, 1, 0, 1],
            "metric": ["survival"] * 4,
            "value": [0.1, 0.3, 0.5, 0.7],
        }
    )
    spread = spread_by_levels(frame, levels=[("model",), ("model", "prompt_id")])
    assert list(spread["prompt_id"]) == [None, "p1", "p2"]
    assert list(spread["mean"]) == pytest.approx([0.4, 0.2, 0.6])
    assert list(spread["n_samples"]) == [4, 2, 2]  # pooled over prompts: every (prompt, sample) is a draw
    assert spread["sd"].iloc[0] == pytest.approx(np.std([0.1, 0.3, 0.5, 0.7], ddof=1))


# --------------------------------------------------------------------------------------------------
# spec validation


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        ("colour: blue\n", "colour", "unknown key"),
        ("samples: 0\n", "samples", "integer >= 1"),
        ("samples: two\n", "samples", "integer >= 1"),
        ("decoding: {sample: false}\n", "decoding.sample", "greedy repeats are identical"),
        ("decoding: {temprature: 0.5}\n", "decoding.temprature", "unknown key"),
        ("scoring: {resamples: 5}\n", "scoring.resamples", "integer >= 100"),
    ],
)
def test_bad_top_level_values_name_file_key_and_value(tmp_path: Path, change: str, key: str, message: str) -> None:
    path = write(tmp_path / "spec.yaml", SPEC + change)
    with pytest.raises(IngestError, match=message) as info:
        load_spec(path)
    assert info.value.file == str(path) and info.value.field == key


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        ("summary-v1, summary-v2", "summary-v1, summary-v9", "tasks.summary.prompts[1]", "unknown prompt"),
        ("summary-v1, summary-v2", "translation-v1", "tasks.summary.prompts[0]", "is for task 'translation'"),
        ("languages: [fr], ", "", "tasks.translation.languages", "is required"),
        ("languages: [fr]", "languages: [xx-notalang]", "tasks.translation.languages[0]", "not a language"),
        ("{spec: MODEL,", "{model: MODEL,", "models[0].model", "unknown key"),
        ("threads: 1,", "threads: 0,", "models[0].threads", "integer >= 1"),
        ("device: cpu,", "base_url: localhost:8080,", "models[0].base_url", "http"),
        ("debates: [d1]", "debates: []", "debates", "non-empty list"),
        ("strata: none}\n  translation", "strata: some}\n  translation", "tasks.summary.strata", "must be one of"),
        ("  translation:", "  rewrite:", "tasks.rewrite", "unknown key"),
    ],
)
def test_bad_nested_values_name_the_key(tmp_path: Path, old: str, new: str, key: str, message: str) -> None:
    assert old in SPEC
    path = write(tmp_path / "spec.yaml", SPEC.replace(old, new, 1))
    with pytest.raises(IngestError, match=message) as info:
        load_spec(path)
    assert info.value.field == key


def test_missing_keys_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="is required") as info:
        load_spec(write(tmp_path / "a.yaml", SPEC.replace("output: out\n", "")))
    assert info.value.field == "output"
    with pytest.raises(IngestError, match="not valid YAML"):
        load_spec(write(tmp_path / "b.yaml", "models: [\n"))
    with pytest.raises(IngestError, match="must be a mapping"):
        load_spec(write(tmp_path / "c.yaml", "- a list\n"))
    with pytest.raises(DembiasError, match="cannot read the benchmark spec"):
        load_spec(tmp_path / "missing.yaml")


def test_a_good_spec_and_the_demo_spec_parse(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path / "spec.yaml", SPEC.replace("MODEL", "smollm2")))
    assert spec.output == tmp_path / "out" and spec.samples == 2 and spec.do_sample
    assert [t.task for t in spec.tasks] == ["summary", "translation"]
    assert spec.tasks[0].prompts == ("summary-v1", "summary-v2") and spec.tasks[1].languages == ("fr",)
    demo = load_spec(Path(__file__).resolve().parent.parent / "benchmarks" / "specs" / "demo.yaml")
    assert demo.debates == ("nz-ubi",) and demo.samples == 2 and demo.models[0].spec == "smollm2"


# --------------------------------------------------------------------------------------------------
# a tiny spec end to end (real SmolLM2, tiny budgets)


@pytest.fixture
def bench_ws(tmp_path: Path) -> Workspace:
    from dembias.ingest import ingest_contributions
    from dembias.workspace.runs import RunRecord, write_run

    rows = "id,text\n" + "\n".join(f"{i},{t}" for i, t in TEXTS) + "\n"
    ws = Workspace.resolve(tmp_path / "ws")
    ingest_contributions(ws, write(tmp_path / "c.csv", rows), debate_id="d1", title="Our town", language="en")
    assignments = pd.DataFrame({"contribution_id": [i for i, _ in TEXTS], "cluster": [0, 0, 0, 1, 1, 2]})
    write_run(
        ws,
        stage="mapping",
        debate_id="d1",
        tables={"assignments": assignments},
        record=RunRecord(params={"embedder": "fake", "revision": "dim=16;noise=0.3;seed=0"}),
    )
    return ws


@pytest.mark.parametrize("model", ["tiny", pytest.param("smollm2", marks=pytest.mark.slow)])
def test_benchmark_runs_end_to_end_and_resumes(bench_ws: Workspace, tmp_path: Path, model: str, request) -> None:
    from typer.testing import CliRunner

    from dembias.cli import app

    spec_model = str(request.getfixturevalue("tiny_model_dir")) if model == "tiny" else model
    spec = write(tmp_path / "spec.yaml", SPEC.replace("MODEL", spec_model))
    result = CliRunner().invoke(app, ["benchmark", "run", str(spec), "-w", str(bench_ws.root), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["generated"] == 4 + 4  # 2 prompts x 2 samples summaries; 2 contributions x 2 samples in French
    assert len(summary["runs"]["pluralism"]) == 1 and len(summary["runs"]["fidelity"]) == 1
    table = pd.read_csv(tmp_path / "out" / "table.csv", keep_default_na=False, na_values=[""])
    for column in ("value", "low", "high", "sd", "min", "max"):
        assert pd.api.types.is_float_dtype(table[column]), column
    assert set(table["task"]) == {"summary", "translation"} and set(table["debate_id"]) == {"d1"}
    assert set(table[table["task"] == "translation"]["language"]) == {"fr"}
    assert set(table[table["task"] == "summary"]["language"]) == {"en"}
    summaries = table[table["task"] == "summary"]
    assert {"survival", "minority_topic_survival", "uer_topics"} <= set(summaries["metric"])
    assert set(summaries["prompt_id"].fillna("")) == {"", "summary-v1", "summary-v2"}
    survival = summaries[summaries["metric"] == "survival"]
    survival = survival.set_index(survival["prompt_id"].fillna("all"))
    assert list(survival.loc[["all", "summary-v1", "summary-v2"], "n_outputs"]) == [4, 2, 2]
    translations = table[table["task"] == "translation"]
    assert set(translations["metric"]) == {"similarity", "review_score", "flagged"}
    pooled = table["prompt_id"].isna()
    assert (table[~pooled]["n_samples"] == 2).all()  # per prompt: the 2 samples
    assert list(table[pooled].groupby("task")["n_samples"].max()) == [4, 2]  # all prompts: 2 prompts x 2 samples
    spread = table.dropna(subset=["low"])
    assert ((spread["low"] <= spread["value"] + 1e-9) & (spread["value"] <= spread["high"] + 1e-9)).all()
    assert ((table["min"] <= table["value"] + 1e-9) & (table["value"] <= table["max"] + 1e-9)).all()
    payload = json.loads((tmp_path / "out" / "table.json").read_text())
    assert len(payload["rows"]) == len(table) and payload["samples"] == 2

    again = CliRunner().invoke(app, ["benchmark", "run", str(spec), "-w", str(bench_ws.root), "--json"])
    assert again.exit_code == 0, again.output
    second = json.loads(again.stdout[again.stdout.index("{") :])
    assert (second["generated"], second["resumed"], second["outputs"]) == (0, 8, 8)
    check_by_model_blocks(bench_ws)


def check_by_model_blocks(ws: Workspace) -> None:
    """`score pluralism --json --by-model` and `score fidelity --json` report each model's spread over samples."""
    from typer.testing import CliRunner

    from dembias.cli import app

    base = ["-w", str(ws.root), "--debate", "d1", "--json"]
    plural = CliRunner().invoke(
        app, ["score", "pluralism", *base, "--by-model", "--resamples", "100", "--placebo", "0"]
    )
    assert plural.exit_code == 0, plural.output
    view = json.loads(plural.stdout[plural.stdout.index("{") :])
    assert len(view["outputs"]) == 4
    rows = {(r["prompt_id"], r["metric"]): r for r in view["by_model"]}
    pooled, per_prompt = rows[(None, "survival")], rows[("summary-v1", "survival")]
    assert (pooled["n_samples"], pooled["n_outputs"], per_prompt["n_samples"], per_prompt["n_outputs"]) == (4, 4, 2, 2)
    assert pooled["min"] <= pooled["mean"] <= pooled["max"]
    assert {"debate_id", "model", "sd", "low", "high"} <= set(pooled)
    fidelity = CliRunner().invoke(app, ["score", "fidelity", *base, "--embedder", "fake", "--n-null", "10"])
    assert fidelity.exit_code == 0, fidelity.output
    block = json.loads(fidelity.stdout[fidelity.stdout.index("{") :])["by_model"]
    similarity = [r for r in block if r["metric"] == "similarity" and r["prompt_id"] is None]
    assert [(r["task"], r["target_language"], r["n_samples"], r["n_outputs"]) for r in similarity] == [
        ("translation", "fr", 2, 4)
    ]


def test_unknown_debate_is_refused_before_loading_a_model(bench_ws: Workspace, tmp_path: Path) -> None:
    from dembias.jobs.benchmark import run_benchmark

    spec = load_spec(write(tmp_path / "spec.yaml", SPEC.replace("debates: [d1]", "debates: [d1, nowhere]")))
    with pytest.raises(DembiasError, match=r"debates\[1\]: unknown debate 'nowhere'"):
        run_benchmark(spec, bench_ws)


@pytest.mark.slow
def test_a_spec_with_a_local_model_and_a_llama_cpp_server_model(
    bench_ws: Workspace, tmp_path: Path, request, llama_server
) -> None:
    """The CI spec: one local model and SmolLM2 behind a real llama.cpp server, in one table."""
    from typer.testing import CliRunner

    from dembias.cli import app

    local_model = request.getfixturevalue("tiny_model_dir")

    spec = SPEC.replace(
        "  - {spec: MODEL, device: cpu, threads: 1, batch_size: 4}",
        f"  - {{spec: {local_model}, device: cpu, threads: 1, batch_size: 4}}\n"
        f"  - {{spec: 'openai:{llama_server.alias}', base_url: '{llama_server.base_url}'}}",
    ).replace("prompts: [summary-v1, summary-v2]", "prompts: [summary-v1]")
    path = write(tmp_path / "spec.yaml", spec)
    result = CliRunner().invoke(app, ["benchmark", "run", str(path), "-w", str(bench_ws.root), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout[result.stdout.index("{") :])
    assert summary["generated"] == 2 * (2 + 4)  # per model: 1 prompt x 2 samples summaries, 2 x 2 translations
    table = pd.read_csv(tmp_path / "out" / "table.csv", keep_default_na=False, na_values=[""])
    assert table["model"].nunique() == 2 and {"summary", "translation"} == set(table["task"])
    served = table[table["model"].astype(str).str.contains("smollm2", case=False)]
    assert not served.empty and (served.dropna(subset=["prompt_id"])["n_samples"] == 2).all()
