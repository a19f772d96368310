"""SQL injection: every value from the UI is a parameter, every identifier is whitelisted.

Injection strings go through every query function that takes ids or values, the annotations, run ids,
and every URL query parameter of every page (AppTest). Nothing may crash the page, nothing in the
workspace may change (tree digest before/after), and no query may return rows it should not.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dembias import jobs
from dembias.errors import DembiasError
from dembias.read import left_out as lo
from dembias.read import queries
from dembias.workspace.annotations import Annotation, add_annotation, delete_annotation, list_annotations
from dembias.workspace.identifiers import quote_identifier
from dembias.workspace.runs import latest_run
from tests.helpers import tree_digest
from tests.payload_ws import DEBATE, build_payload_workspace

APP = str(Path(__file__).resolve().parent.parent / "app.py")

INJECTIONS = [
    "'; DROP TABLE contributions; --",
    '" OR 1=1 --',
    "' OR '1'='1",
    "' OR 1=1 --",
    "1) UNION SELECT contribution_id, text, text, text FROM contributions --",
    "' UNION SELECT table_name, NULL, NULL, NULL FROM duckdb_tables() --",
    "x'); DELETE FROM annotations; --",
    "0; ATTACH '/tmp/evil.duckdb' AS evil; --",
    "'; COPY contributions TO '/tmp/leak.csv'; --",
    "'; INSTALL httpfs; LOAD httpfs; --",
    "\\'; DROP TABLE outputs; --",
    "%27%20OR%201%3D1%20--",
    "1 AND (SELECT count(*) FROM read_csv('/etc/passwd')) > 0",
    "mapping-20260101T000000-deadbeef' OR '1'='1",
    "../../corpus",
    "clusters; DROP TABLE assignments",
    "$debate",
    "?",
    "\x00'; --",
]

#: URL query parameters the pages read (sidebar, pickers, radios, toggles).
PARAMS = ["debate", "output", "map", "prun", "frun", "color", "units", "sbs", "metric", "by", "fby", "fmetric"]
PARAMS += ["cmode", "ascope", "interactions_by", "xmetric", "drop", "find", "pin", "item", "q", "pg"]
PAGES = [
    "pages/map.py",
    "pages/survival.py",
    "pages/minorities.py",
    "pages/fidelity.py",
    "pages/compare.py",
    "pages/annotations.py",
    "pages/rescoring.py",
    "pages/interactions.py",
    "pages/across.py",
    "pages/left_out.py",
]


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    return build_payload_workspace(tmp_path_factory.mktemp("sqli"))


@pytest.fixture(scope="module")
def runs(ws):
    return {
        stage: latest_run(ws, stage=stage, debate_id=DEBATE).run_id for stage in ("mapping", "pluralism", "fidelity")
    }


def _clear_error(call) -> object:
    """Run ``call``; a refusal must be one of dembias's clear errors (or ValueError), never a SQL error."""
    try:
        return call()
    except (DembiasError, ValueError) as exc:
        assert str(exc)
        return exc


def test_every_query_function_treats_injections_as_values(ws, runs):
    before = tree_digest(ws.root)
    output_id = queries.outputs_table(ws, DEBATE).query("task == 'summary'")["output_id"].iloc[0]
    effective = []
    for bad in INJECTIONS:
        results = {
            "outputs_table": queries.outputs_table(ws, bad),
            "map_points": queries.map_points(ws, debate_id=bad, mapping_run=runs["mapping"]),
            "contributions_detail": queries.contributions_detail(
                ws, debate_id=DEBATE, mapping_run=runs["mapping"], contribution_ids=[bad]
            ),
            "contributions_detail_debate": queries.contributions_detail(
                ws, debate_id=bad, mapping_run=runs["mapping"], contribution_ids=["0", "1"]
            ),
            "cluster_coverage": queries.cluster_coverage(
                ws, pluralism_run=runs["pluralism"], mapping_run=runs["mapping"], output_id=bad
            ),
            "unit_links": queries.unit_links(
                ws, pluralism_run=runs["pluralism"], mapping_run=runs["mapping"], output_id=bad
            )[0],
            "unit_links_contribution": queries.unit_links(
                ws,
                pluralism_run=runs["pluralism"],
                mapping_run=runs["mapping"],
                output_id=output_id,
                contribution_ids=[bad],
            )[0],
            "unit_positions": queries.unit_positions(
                ws, pluralism_run=runs["pluralism"], mapping_run=runs["mapping"], output_id=bad
            ),
            "scored_table": queries.scored_table(ws, runs["pluralism"], "jr_violations", output_id=bad),
            "cluster_breakdown": queries.cluster_breakdown(
                ws, debate_id=bad, mapping_run=runs["mapping"], clusters=[0, 1, 2], by="country"
            ),
            "contribution_texts": queries.contribution_texts(ws, debate_id=DEBATE, contribution_ids=[bad]),
            "contribution_texts_debate": queries.contribution_texts(ws, debate_id=bad, contribution_ids=["0"]),
            "run_table": queries.run_table(ws, runs["mapping"], bad),
            "annotations": list_annotations(ws.state_path, debate_id=bad),
        }
        results |= _left_out_results(ws, runs, bad)
        leaked = {name: len(frame) for name, frame in results.items() if len(frame)}
        if leaked:
            effective.append((bad, leaked))
        assert queries.run_options(ws, stage=bad, debate_id=bad) == []
        assert queries.run_for(ws, stage="mapping", debate_id=bad, using=bad) is None
        # identifiers and run ids are refused with a clear error, never interpolated
        for call in (
            lambda b=bad: queries.scorecard(ws, b),
            lambda b=bad: queries.fidelity_by_model(ws, b),
            lambda b=bad: queries.n_mapped(ws, b),
            lambda b=bad: queries.map_points(ws, debate_id=DEBATE, mapping_run=b),
            lambda b=bad: queries.review_list(ws, fidelity_run=b),
            lambda b=bad: queries.cluster_coverage(ws, pluralism_run=b, mapping_run=runs["mapping"], output_id="x"),
            lambda b=bad: queries.scored_table(ws, runs["pluralism"], b, output_id=output_id),
            lambda b=bad: queries.cluster_breakdown(
                ws, debate_id=DEBATE, mapping_run=runs["mapping"], clusters=[0], by=b
            ),
            lambda b=bad: ws.run_path(b),
            lambda b=bad: quote_identifier(b),
            lambda b=bad: jobs.get_job(ws, b),
        ):
            assert isinstance(_clear_error(call), DembiasError | ValueError), bad
        assert not delete_annotation(ws.state_path, bad)
    print(f"injection strings tried: {len(INJECTIONS)}; effective: {len(effective)}")
    assert not effective, effective
    after = tree_digest(ws.root)
    assert after == before


def _left_out_results(ws, runs, bad: str) -> dict[str, object]:
    """dembias.read.left_out's queries given an injection string as a value: each must find nothing."""
    page = lo.left_out_contributions(ws, debate_id=bad, mapping_run=runs["mapping"], kind="topic", ident=0)
    rates = lo.vote_rates(ws, debate_id=bad, mapping_run=runs["mapping"], contribution_ids=["0", "1", bad])
    assert isinstance(_clear_error(lambda: lo.parse_key(bad)), ValueError)
    return {
        "left_out": lo.left_out(ws, pluralism_run=runs["pluralism"], mapping_run=runs["mapping"], output_id=bad),
        "left_out_contributions": page.rows,
        "vote_rates": rates[rates["n_voters"] > 0],
        "slice_breakdown": lo.slice_breakdown(ws, debate_id=bad, contribution_ids=["0"], by="country"),
    }


def test_injections_are_stored_as_plain_text_in_annotations(ws, runs):
    n_before = len(list_annotations(ws.state_path))
    corpus_before = tree_digest(ws.root / "runs"), (ws.root / "corpus.duckdb").read_bytes()
    ids = []
    for bad in INJECTIONS[:8]:
        note = bad.replace("\x00", "")
        ids.append(
            add_annotation(ws.state_path, Annotation(DEBATE, "contribution", note, "other", note=note, run_id=None))
        )
    table = list_annotations(ws.state_path)
    assert len(table) == n_before + 8
    stored = table.set_index("annotation_id").loc[ids]
    assert list(stored["note"]) == [b.replace("\x00", "") for b in INJECTIONS[:8]]
    assert list(stored["target_id"]) == list(stored["note"])
    for annotation_id in ids:
        assert delete_annotation(ws.state_path, annotation_id)
    assert len(list_annotations(ws.state_path)) == n_before
    assert (tree_digest(ws.root / "runs"), (ws.root / "corpus.duckdb").read_bytes()) == corpus_before
    assert len(queries.contribution_texts(ws, debate_id=DEBATE, contribution_ids=[str(i) for i in range(48)])) == 48


@pytest.mark.slow
def test_url_query_parameters_cannot_inject_or_crash(ws, monkeypatch):
    """Every query parameter of every page holds an injection string: pages render, nothing changes."""
    monkeypatch.setenv("DEMBIAS_WORKSPACE", str(ws.root))
    before = tree_digest(ws.root)
    crashes = []
    for k, page in enumerate([None, *PAGES]):
        for bad in INJECTIONS[k % 3 :: 3][:3]:
            at = AppTest.from_file(APP, default_timeout=120)
            for key in PARAMS:
                at.query_params[key] = bad
            at.run()
            if page:
                for key in PARAMS:
                    at.query_params[key] = bad
                at.switch_page(page).run()
            if at.exception:
                crashes.append((page, bad, [e.message for e in at.exception]))
                continue
            # the sidebar fell back to a real debate, not the injected one
            assert at.sidebar.selectbox[0].value == DEBATE, (page, bad)
            assert at.query_params["debate"] == [DEBATE] or at.query_params["debate"] == DEBATE
    assert not crashes, crashes
    assert tree_digest(ws.root) == before
