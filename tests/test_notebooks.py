"""Execute the notebooks with a real kernel against the demo workspace (slow: one kernel per notebook).

The kernel is ``python3``: nbclient starts the interpreter running the tests (jupyter_client replaces a
kernelspec's ``python`` by ``sys.executable``), with this process's environment, so ``DEMBIAS_WORKSPACE``
reaches the notebook. Cells run with ``notebooks/`` as the working directory, as in Jupyter.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from dembias.workspace.corpus import open_corpus
from dembias.workspace.runs import latest_run, read_run_table

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CELL_TIMEOUT = 600

pytestmark = pytest.mark.slow


def execute(name: str) -> nbformat.NotebookNode:
    """Run every cell of ``notebooks/<name>`` (plus a last cell that reports the kernel's interpreter)."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys as _sys\nprint('KERNEL_PREFIX ' + _sys.prefix)"))
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError on the first cell that fails
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert stdout(nb).count("KERNEL_PREFIX " + sys.prefix) == 1, "the kernel is not this interpreter"
    return nb


def stdout(nb: nbformat.NotebookNode) -> str:
    return "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"
    )


def rich_outputs(nb: nbformat.NotebookNode, mime: str) -> list:
    return [
        o["data"][mime]
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.outputs
        if o.output_type in ("display_data", "execute_result") and mime in o.get("data", {})
    ]


def test_pluralism_notebook_runs_and_reports_the_gemini_audit(demo_ws, monkeypatch):
    monkeypatch.setenv("DEMBIAS_WORKSPACE", str(demo_ws.root))
    nb = execute("pluralism_bowling_green.ipynb")
    text = stdout(nb)
    (line,) = [x for x in text.splitlines() if x.startswith("RESULT ")]
    facts = json.loads(line[len("RESULT ") :])

    # what the notebook reports is what the latest pluralism run of the workspace holds
    run = latest_run(demo_ws, stage="pluralism", debate_id="bowling-green")
    outputs = read_run_table(demo_ws, run.run_id, "outputs").set_index("output_id")
    gemini = facts["gemini_output_id"]
    assert outputs.loc[gemini, "model"].startswith("gemini")
    assert set(facts["baseline_survival"]) == {"top-voted", "centroid", "mmr", "cluster-representative", "random"}
    scores = read_run_table(demo_ws, run.run_id, "scores")
    value = scores[scores["output_id"] == gemini].set_index("metric")["value"]
    assert facts["gemini_survival"] == pytest.approx(value["survival"])
    assert facts["gemini_uer_vote_groups"] == pytest.approx(value["uer_opinion_groups"])
    con = open_corpus(demo_ws)
    try:
        (n,) = con.execute(
            "SELECT count(*) FROM contributions WHERE debate_id = 'bowling-green' AND NOT is_rejected"
        ).fetchone()
    finally:
        con.close()
    assert facts["n_contributions"] == n

    # justified representation counts only the distinct units of the report's 577 whose citations are supported
    k = facts["gemini_jr_k"]
    assert k == outputs.loc[gemini, "n_linked_units"] and 0 < k < outputs.loc[gemini, "n_units"] == 577
    assert facts["gemini_jr_threshold"] == pytest.approx(n / k)
    assert 0.0 < facts["gemini_citation_precision"] <= 1.0
    cc = read_run_table(demo_ws, run.run_id, "cluster_coverage")
    cc = cc[(cc["output_id"] == gemini) & (cc["cluster"] >= 0)]
    assert facts["n_clusters"] == len(cc) >= 5
    assert facts["gemini_jr_violations"] == int(((cc["size"] >= n / k) & ~cc["covered"]).sum())
    assert set(facts["gemini_clusters_dropped"]) == set(cc.loc[~cc["covered"], "cluster"])
    assert set(facts["gemini_clusters_under_represented"]) == set(cc.loc[cc["ratio"] <= 0.8, "cluster"])
    # the cluster-representative baseline takes one comment per cluster: it keeps every cluster
    assert facts["baseline_survival"]["cluster-representative"] == 1.0

    # opinion groups: shares are proper distributions, "unfair" is p_t <= 0.8 p_s, the flag agrees with it
    groups = facts["gemini_vote_groups"]
    assert len(groups) >= 2
    assert sum(g["p_s"] for g in groups.values()) == pytest.approx(1.0)
    assert sum(g["p_t"] for g in groups.values()) == pytest.approx(1.0)
    unfair = sorted(k for k, g in groups.items() if g["p_t"] <= 0.8 * g["p_s"])
    assert facts["gemini_unfair_vote_groups"] == unfair
    assert facts["gemini_unfair_vote_groups_flag"] == float(bool(unfair))
    assert 0.0 <= facts["gemini_common_ground_precision"] <= 1.0
    reps = read_run_table(demo_ws, run.run_id, "representatives")
    assert facts["gemini_representatives_covered"] == bool(reps.loc[reps["output_id"] == gemini, "covered"].all())

    # the written conclusion is computed from those values, and both figures were built
    (verdict,) = [x for x in text.splitlines() if "Verdict: by these measures the report" in x]
    if unfair and not facts["gemini_clusters_dropped"] and not facts["gemini_jr_violations"]:
        assert f"under-weights vote group(s) {', '.join(unfair)}" in verdict
    assert f"covers {len(cc) - len(facts['gemini_clusters_dropped'])} of {len(cc)} opinion clusters" in text
    figures = rich_outputs(nb, "application/vnd.plotly.v1+json")
    assert len(figures) == 2
    heatmap = next(f for f in figures if f["data"][0]["type"] == "heatmap")
    compared = outputs["model"].str.startswith(("gemini", "baseline:"))
    assert len(heatmap["data"][0]["x"]) == int(compared.sum()) == 6  # the Gemini report and the five baselines
    assert len(heatmap["data"][0]["y"]) == len(cc)


def test_fidelity_notebook_audits_the_demo_reformulations(demo_ws, monkeypatch):
    monkeypatch.setenv("DEMBIAS_WORKSPACE", str(demo_ws.root))
    nb = execute("fidelity.ipynb")
    text = stdout(nb)
    assert "stance not scored" in text  # no NLI model here: the notebook says so
    (line,) = [x for x in text.splitlines() if x.startswith("RESULT ")]
    facts = json.loads(line[len("RESULT ") :])
    # what it reports is what the demo's fidelity runs hold: the 301 committed SmolLM2 reformulations and the
    # SmolLM2 translations of the three English debates
    total = 0
    for debate, seen in facts["debates"].items():
        run = latest_run(demo_ws, stage="fidelity", debate_id=debate)
        assert seen["run_id"] == run.run_id
        pairs = read_run_table(demo_ws, run.run_id, "pairs")
        assert seen["n_pairs"] == len(pairs)
        assert seen["mean_similarity"] == pytest.approx(pairs["similarity"].mean())
        total += len(pairs)
    committed = [
        json.loads(line)
        for path in (NOTEBOOKS.parent / "data" / "outputs").glob("smollm2-*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    english = {"bowling-green", "nz-ubi", "nz-freshwater"}
    expected = [o for o in committed if o["debate_id"] in english and o["task"] in ("reformulation", "translation")]
    assert total == len(expected) and sum(o["task"] == "reformulation" for o in expected) == 301
    check_fidelity_tables(rich_outputs(nb, "text/plain"))


def check_fidelity_tables(tables: list[str]) -> None:
    """The hand-written rewrites: both translations are there; the reformulation's dropped "not" is flagged."""
    pairs = next(t for t in tables if "language_pair" in t and "similarity_percentile" in t)
    assert "en->fr" in pairs and "en->de" in pairs
    reformulation = next(line for line in pairs.splitlines() if "en->en" in line).split()[1]
    flags = next(t for t in tables if "words" in t and "detail" in t and "language_pair" not in t)
    assert any(reformulation in line and "negation_removed" in line for line in flags.splitlines()), flags
