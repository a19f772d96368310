"""The one-page audit report (dembias.read.report) and the across-debates matrix (dembias.read.across).

A tiny hand-made workspace (one debate, a mapping run and a pluralism run written by hand, so every value is
known) and the demo workspace (nz-ubi's SmolLM2 summary).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from dembias.ingest import ingest_contributions, ingest_outputs
from dembias.pluralism.tables import SCHEMAS, to_arrow
from dembias.read import queries
from dembias.read.across import across_finding, by_place, minority_matrix
from dembias.read.report import build_report, chromium_available, report_html, write_report
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import RunRecord, list_runs, write_run
from tests.helpers import write

ROOT = Path(__file__).resolve().parent.parent
INJECTION = "<script>alert('x')</script><img src=https://evil.example/p.png onerror=alert(1)>"
MAPPING = "mapping-20260101T000000-00000001"
PLURALISM = "pluralism-20260101T000001-00000002"


def _outputs(tmp_path: Path) -> Path:
    records = [
        {
            "debate_id": "d",
            "task": "summary",
            "model": "org/Tiny-1B",
            "units": [{"text": f"Bikes are good {INJECTION}", "citations": ["a0"]}, {"text": "Nothing here."}],
            "text": "x",
        },
        {"debate_id": "d", "task": "summary", "model": "baseline:a", "units": [{"text": "A a0"}], "text": "A a0"},
        {"debate_id": "d", "task": "summary", "model": "baseline:b", "units": [{"text": "B b0"}], "text": "B b0"},
    ]
    return write(tmp_path / "o.jsonl", "\n".join(json.dumps(r) for r in records) + "\n")


def _mapping(ws: Workspace, ids: list[str]) -> None:
    write_run(
        ws,
        stage="mapping",
        debate_id="d",
        run_id=MAPPING,
        tables={
            "assignments": pd.DataFrame(
                {
                    "contribution_id": ids,
                    "x": [float(i) for i in range(len(ids))],
                    "y": [0.0] * len(ids),
                    "cluster": [0] * 6 + [1] * 4,
                    "probability": [1.0] * len(ids),
                    "language": ["fr"] * 6 + ["en"] * 4,
                }
            ),
            "clusters": pd.DataFrame(
                {
                    "cluster": [0, 1],
                    "size": [6, 4],
                    "share": [0.6, 0.4],
                    "label": ["bikes", f"taxes {INJECTION}"],
                    "keywords": [["bikes"], ["taxes"]],
                    "representative_ids": [["a0", "a1"], ["b0"]],
                }
            ),
        },
    )


#: per output model: (minority topic survival, UER topics, UER opinion groups, smallest group's ratio)
VALUES = {"org/Tiny-1B": (0.0, 0.3, 0.15, 0.0), "baseline:a": (0.5, 0.1, 0.1, 0.5), "baseline:b": (1.0, 0.2, 0.2, 2.0)}


def _pluralism_tables(outputs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    frames: dict[str, list[pd.DataFrame]] = {name: [] for name in SCHEMAS}
    for row in outputs.itertuples():
        mts, uer_t, uer_g, ratio = VALUES[row.model]
        oid, tiny = row.output_id, row.model == "org/Tiny-1B"
        frames["outputs"].append(
            pd.DataFrame(
                [[oid, row.model, "summary", 2, 2, 1, 1, "similarity", 0.5, 1, 1, 1.0, json.dumps([]), json.dumps([])]],
                columns=SCHEMAS["outputs"].names,
            )
        )
        metrics = [
            ("survival", 0.5, 0.5, 0.5),
            ("minority_topic_survival", mts, mts, mts),
            ("uer_topics", uer_t, uer_t - 0.05, uer_t + 0.05),
            ("uer_opinion_groups", uer_g, uer_g - 0.05, uer_g + 0.05),
            ("n_minority_topics", 1.0, None, None),
            ("n_clusters", 2.0, None, None),
            ("n_opinion_groups", 2.0, None, None),
        ]
        frames["scores"].append(
            pd.DataFrame([(oid, m, v, lo, hi, None) for m, v, lo, hi in metrics], columns=SCHEMAS["scores"].names)
        )
        frames["cluster_coverage"].append(
            pd.DataFrame(
                [(oid, 0, 6, 0.6, 1.0, 1.67, True, False), (oid, 1, 4, 0.4, 0.0, 0.0, False, True)],
                columns=SCHEMAS["cluster_coverage"].names,
            )
        )
        texts = [f"Bikes are good {INJECTION}", "Nothing here."] if tiny else ["A a0"]
        frames["units"].append(
            pd.DataFrame(
                [
                    (oid, i, t, -1, i == 1, "debate-level" if i == 1 else None, 0.5, 0.5, 1 - i, "group", 0)
                    for i, t in enumerate(texts)
                ],
                columns=SCHEMAS["units"].names,
            )
        )
        frames["links"].append(pd.DataFrame([(oid, 0, "a0", "citation", 0.9)], columns=SCHEMAS["links"].names))
        frames["opinion_groups"].append(
            pd.DataFrame(
                [
                    (oid, 0, 8, 0.8, 0.7, 0.9, 1.0, 1.25, 1.1, 1.4, 1, 0, False, False),
                    (oid, 1, 2, 0.2, 0.1, 0.3, 0.2 * ratio, ratio, ratio / 2, ratio * 1.5, 0, 0, ratio <= 0.8, True),
                ],
                columns=SCHEMAS["opinion_groups"].names,
            )
        )
        frames["group_coverage"].append(
            pd.DataFrame(
                [
                    (oid, "language", "fr", 6, 6, 0.6, 1.0, 0.5, 0.3, 0.7, 0.1, False, False),
                    (oid, "language", "en", 4, 2, 0.4, 0.0, 0.0, None, None, None, True, True),
                    (oid, "country", "FR", 10, 8, 1.0, 1.0, 0.3, 0.1, 0.5, 0.0, False, False),
                ],
                columns=SCHEMAS["group_coverage"].names,
            )
        )
        frames["representatives"].append(
            pd.DataFrame([(oid, 1, "b0", 2.0, False)], columns=SCHEMAS["representatives"].names)
        )
    return {name: to_arrow(parts, SCHEMAS[name]) for name, parts in frames.items()}


@pytest.fixture
def tiny_ws(tmp_path) -> Workspace:
    """One debate: 6 French contributions about bikes (6 authors), 4 English about taxes (2 authors)."""
    ws = Workspace(tmp_path / "ws")
    rows = ["id,text,author,language"]
    rows += [f"a{i},Bikes please {i},u{i},fr" for i in range(6)]
    rows += [f"b{i},Taxes {i} {INJECTION.replace(',', ' ')},v{i % 2},en" for i in range(4)]
    ingest_contributions(ws, write(tmp_path / "c.csv", "\n".join(rows) + "\n"), debate_id="d", country="FR")
    _mapping(ws, [f"a{i}" for i in range(6)] + [f"b{i}" for i in range(4)])
    ingest_outputs(ws, _outputs(tmp_path))
    outputs = queries.outputs_table(ws, "d")
    write_run(
        ws,
        stage="pluralism",
        debate_id="d",
        run_id=PLURALISM,
        tables=_pluralism_tables(outputs),
        record=RunRecord(params={"seed": 0, "note": INJECTION}, inputs=[MAPPING]),
    )
    return ws


def _tiny_output(ws: Workspace) -> str:
    outputs = queries.outputs_table(ws, "d")
    return str(outputs.loc[outputs["model"] == "org/Tiny-1B", "output_id"].iloc[0])


class _Tags(HTMLParser):
    """Every real tag and attribute of a document (escaped text stays text)."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def assert_self_contained_and_escaped(page: str) -> None:
    """No element or attribute that loads anything, no live injected markup, no url() off the file."""
    parser = _Tags()
    parser.feed(page)
    names = {tag for tag, _attrs in parser.tags}
    assert not names & {"script", "img", "iframe", "link", "object", "embed", "base"}, names
    for _tag, attrs in parser.tags:
        for key, value in attrs.items():
            assert key not in ("src", "href", "srcset", "action") and not key.startswith("on"), (key, value)
    urls = re.findall(r"url\(\s*['\"]?([^'\")]{0,20})", page)
    assert all(u.startswith("data:") for u in urls), urls
    assert "@import" not in page


def test_the_report_holds_the_verdict_every_sentence_and_what_was_left_out(tiny_ws):
    output_id = _tiny_output(tiny_ws)
    report = build_report(tiny_ws, debate_id="d", output_id=output_id)
    page = report_html(report)
    assert report.verdict and report.verdict.replace("'", "&#x27;") in page
    for text in report.sentences["text"]:
        assert str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").split("'")[0] in page
    assert "&lt;script&gt;alert(" in page  # the injected sentence is shown as text
    assert list(report.topics_left_out["status"]) == ["dropped"] and report.topics_left_out["cluster"].tolist() == [1]
    # one quote rule on every view (dembias.small_cells.public_attributes): the texts are shown, most voted first
    assert report.topics_left_out["n_contributions"].tolist() == [4]
    assert len(report.topics_left_out["quotes"].iloc[0]) == 2
    assert all(q.startswith("Taxes ") for q in report.topics_left_out["quotes"].iloc[0])
    assert "2 of its 4 contributions" in page
    # opinion group 1 is under-represented: its most representative comment is quoted, its small-cell rates withheld
    assert report.groups_left_out["vote_group"].tolist() == [1]
    assert report.groups_left_out["quote"].iloc[0].startswith("Taxes 0")
    assert "opinion group 1" in page and "n=6" in page and "withheld: under 5 contributors" in page
    assert PLURALISM in page and MAPPING in page and "seed=0" in page
    assert_self_contained_and_escaped(page)


def test_a_report_of_an_unknown_debate_or_output_says_which(tiny_ws):
    from dembias.read.report import ReportError

    with pytest.raises(ReportError, match=r"unknown debate 'nope'.*debates in the workspace: d"):
        build_report(tiny_ws, debate_id="nope", output_id="x")
    with pytest.raises(ReportError, match="output 'x' is not scored in run " + PLURALISM):
        build_report(tiny_ws, debate_id="d", output_id="x")


def _pdf_pages(data: bytes) -> int:
    """Pages of a PDF: with pypdf when installed, else Chromium's uncompressed page tree count."""
    try:
        import io

        from pypdf import PdfReader

        return len(PdfReader(io.BytesIO(data)).pages)
    except ImportError:
        counts = re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)|/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", data)
        found = [int(a or b) for a, b in counts]
        if not found:
            pytest.skip("no PDF library and no readable page tree")
        return max(found)


def test_the_cli_writes_html_and_pdf(tiny_ws, tmp_path):
    output_id = _tiny_output(tiny_ws)
    env_cmd = [
        sys.executable,
        "-m",
        "dembias",
        "report",
        "--debate",
        "d",
        "--output",
        output_id,
        "-w",
        str(tiny_ws.root),
    ]
    html_path = tmp_path / "r.html"
    done = subprocess.run([*env_cmd, "--out", str(html_path)], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    assert html_path.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    bad = subprocess.run(
        [*env_cmd[:-4], "-w", str(tiny_ws.root), "--output", "zzz"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert bad.returncode == 2 and "output 'zzz' is not scored" in bad.stderr
    if not chromium_available():
        pytest.skip("no Chromium/playwright here: the PDF is not checked")
    pdf_path = tmp_path / "r.pdf"
    done = subprocess.run(
        [*env_cmd, "--format", "pdf", "--out", str(pdf_path)], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    data = pdf_path.read_bytes()
    assert data.startswith(b"%PDF-") and _pdf_pages(data) == 1


def test_the_matrix_has_exact_values_bands_and_a_finding(tiny_ws):
    matrix = minority_matrix(tiny_ws)
    assert set(matrix["metric"]) == {
        "minority_topic_survival",
        "minority_group_share",
        "uer_topics",
        "uer_opinion_groups",
    }
    assert len(matrix) == 3 * 4  # debate x output x metric
    tiny = matrix[matrix["model"] == "org/Tiny-1B"].set_index("metric")
    assert tiny.loc["minority_topic_survival", ["value", "band_low", "band_high", "n"]].tolist() == [0.0, 0.5, 1.0, 1]
    assert tiny.loc["uer_topics", ["value", "low", "high", "band_low", "band_high"]].tolist() == pytest.approx(
        [0.3, 0.25, 0.35, 0.1, 0.2]
    )
    assert tiny.loc["minority_group_share", ["value", "band_low", "band_high", "n"]].tolist() == [0.0, 0.5, 2.0, 2]
    assert tiny["worse_than_baselines"].to_dict() == {
        "minority_group_share": True,
        "minority_topic_survival": True,
        "uer_opinion_groups": False,
        "uer_topics": True,
    }
    assert not matrix.loc[matrix["is_baseline"], "worse_than_baselines"].any()
    assert all(pd.api.types.is_float_dtype(matrix[c]) for c in ("value", "low", "high"))
    assert across_finding(matrix) == (
        "Tiny-1B is worse than every baseline of the debate on smallest topics carried in 1 of 1 debates, "
        "smallest opinion group's share in 1 of 1 debates, under-representation of topics in 1 of 1 debates."
    )


def test_by_place_withholds_small_cells(tiny_ws):
    table = by_place(tiny_ws)
    tiny = table[table["model"] == "org/Tiny-1B"].set_index("place")
    assert tiny.loc["fr", ["value", "low", "high", "n"]].tolist() == [0.5, 0.3, 0.7, 6]
    assert bool(tiny.loc["en", "suppressed"]) and math.isnan(tiny.loc["en", "value"])
    assert tiny.loc["FR", "dimension"] == "country"


def test_the_demo_report_of_nz_ubis_smollm2_summary(demo_ws):
    outputs = queries.outputs_table(demo_ws, "nz-ubi")
    output_id = outputs.loc[outputs["model"].str.contains("SmolLM2") & (outputs["task"] == "summary"), "output_id"]
    report = build_report(demo_ws, debate_id="nz-ubi", output_id=str(output_id.iloc[0]))
    page = report_html(report)
    assert report.verdict.startswith("The SmolLM2-135M-Instruct summary is degenerate")
    assert "The SmolLM2-135M-Instruct summary is degenerate" in page
    assert page.count("<li class='sent") == len(report.sentences) >= 10
    assert (report.topics_left_out["status"] == "dropped").any()
    assert {r.stage for r in report.runs} == {"mapping", "pluralism", "fidelity"}
    assert_self_contained_and_escaped(page)
    assert "@font-face" not in page and len(page) < 100_000  # no CJK text: no font embedded, a small file


def test_the_demo_matrix_covers_every_scored_debate(demo_ws):
    matrix = minority_matrix(demo_ws)
    scored = {r.debate_id for r in list_runs(demo_ws, stage="pluralism")}
    assert set(matrix["debate_id"]) == scored
    smol = matrix[matrix["model"].str.contains("SmolLM2") & (matrix["metric"] == "minority_topic_survival")]
    assert smol["worse_than_baselines"].any()
    assert "SmolLM2-135M-Instruct is worse than every baseline" in across_finding(matrix)


def test_a_chinese_report_embeds_the_cjk_font(demo_ws, tmp_path):
    outputs = queries.outputs_table(demo_ws, "vtaiwan-uberx")
    output_id = str(outputs.loc[outputs["task"] == "summary", "output_id"].iloc[0])
    path = write_report(demo_ws, debate_id="vtaiwan-uberx", output_id=output_id, out=tmp_path / "zh.html")
    page = path.read_text(encoding="utf-8")
    assert "@font-face{font-family:'dembias-cjk';src:url(data:font/woff2;base64," in page
    assert_self_contained_and_escaped(page)


def test_matrix_by_model_pools_repeated_samples(tiny_ws, monkeypatch):
    from dembias.read.across import matrix_by_model

    matrix = minority_matrix(tiny_ws)
    single = matrix_by_model(tiny_ws, matrix).set_index(["model", "metric"]).loc[("org/Tiny-1B", "uer_topics")]
    assert single["n_samples"] == 1 and single["mean"] == pytest.approx(0.3) and pd.isna(single["sd"])
    assert single["worse_in"] == 1 and single[["band_low", "band_high"]].tolist() == pytest.approx([0.1, 0.2])

    # the tiny model sampled three times (one prompt): its spread, and in how many samples it is worse
    base = matrix[(matrix["model"] == "org/Tiny-1B") & (matrix["metric"] == "uer_topics")]
    rows = pd.concat(
        [base.assign(output_id=f"s{k}", value=v, worse_than_baselines=v > 0.2) for k, v in enumerate([0.3, 0.1, 0.2])]
    )
    variants = pd.DataFrame({"output_id": ["s0", "s1", "s2"], "prompt_id": ["p"] * 3, "sample": [0, 1, 2]})
    monkeypatch.setattr(queries, "output_variants", lambda _ws, _ids=None: variants)
    pooled = matrix_by_model(tiny_ws, rows).iloc[0]
    assert pooled["n_samples"] == 3 and pooled["worse_in"] == 1
    assert pooled[["mean", "sd", "min", "max"]].tolist() == pytest.approx([0.2, 0.1, 0.1, 0.3])
    half = 4.302653 * 0.1 / 3**0.5  # t(0.975, df=2) x SD / sqrt(n)
    assert pooled[["low", "high"]].tolist() == pytest.approx([0.2 - half, 0.2 + half], abs=1e-5)
