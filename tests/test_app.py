"""Every dashboard page through Streamlit's AppTest on the demo workspace: no exception, expected elements."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.helpers import dropped_topics

APP = str(Path(__file__).resolve().parent.parent / "app.py")
DEBATES = {
    "bowling-green",
    "klimarat-produktion-konsum",
    "nz-freshwater",
    "nz-ubi",
    "vtaiwan-uberx",
    "makeorg-fr",
    "makeorg-g9",
}


def app_at(monkeypatch, ws, page: str | None = None, **params: str) -> AppTest:
    monkeypatch.setenv("DEMBIAS_WORKSPACE", str(ws.root))
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_overview_lists_the_demo_debates_and_the_scorecard(demo_ws, monkeypatch):
    at = app_at(monkeypatch, demo_ws, debate="bowling-green")
    debates = at.dataframe[0].value
    assert set(debates["Debate"]) == DEBATES
    bg = debates.set_index("Debate").loc["bowling-green"]
    assert (bg["Contributions"], bg["Accepted"], bg["Participants"]) == (896, 607, 2031)
    kr = debates.set_index("Debate").loc["klimarat-produktion-konsum"]
    assert (kr["Contributions"], kr["Accepted"], kr["Participants"], kr["Groups published by Polis"]) == (
        522,
        277,
        1116,
        2,
    )
    checks = at.dataframe[1].value  # the control checks of `dembias validate`, in their expander
    assert checks["Passed"].all() and {"vacuous", "off_topic", "ideal"} <= set(checks["control"])  # human labels
    assert any(s.value.startswith("Controls pass") for s in at.success)
    scorecard = at.dataframe[2].value
    assert "gemini (sensemaking-tools)" in set(scorecard["Model"])
    smollm = scorecard[scorecard["Model"].str.startswith("HuggingFaceTB/SmolLM2")]
    assert smollm["Quality"].str.contains("repetition").all()  # the degenerate summary is named on the scorecard
    assert {"baseline:top-voted", "baseline:cluster-representative"} <= set(scorecard["Model"])
    assert at.sidebar.selectbox[0].value == "bowling-green"
    assert at.sidebar.selectbox[1].value is not None  # the Gemini report is preselected before baselines


def test_opinion_map_page(demo_ws, monkeypatch):
    at = app_at(
        monkeypatch, demo_ws, "pages/map.py", debate="klimarat-produktion-konsum", color="vote_group", figfmt="svg"
    )
    assert at.title[0].value == "Opinion map"
    assert at.radio(key="w_color").value == "vote_group"
    assert at.sidebar.radio(key="w_figfmt").value == "svg"
    # the map is the keyed component of pages/ui/map_chart.py: figure, plotly config and where plotly.js is served
    (chart,) = at.get("bidi_component")
    data = json.loads(chart.proto.json)
    config = json.loads(data["config"])
    assert config["toImageButtonOptions"]["format"] == "svg"  # the camera button saves the map as SVG
    figure = json.loads(data["spec"])
    assert figure["layout"]["uirevision"].startswith("map-mapping-")  # the zoom survives a colour change
    assert figure["layout"]["legend"]["title"]["text"] == "vote group"
    assert {t["type"] for t in figure["data"]} == {"scattergl"}  # WebGL, the summary's stars too
    points = [t for t in figure["data"] if t["name"] != "summary units"]
    mapped = int(at.metric[0].value.replace(",", ""))  # a small debate: every contribution is drawn
    assert sum(len(t["customdata"]) for t in points) == mapped
    assert data["plotly_url"].endswith("/plotly.min.js")
    labels = [m.label for m in at.metric]
    assert {"Contributions mapped", "Opinion clusters", "Stability (ARI)", "NMI with language"} <= set(labels)
    assert at.query_params["debate"] == "klimarat-produktion-konsum"


def test_cluster_survival_page(demo_ws, monkeypatch):
    at = app_at(monkeypatch, demo_ws, "pages/survival.py", debate="bowling-green")
    assert at.title[0].value == "Cluster survival"
    ratios = at.dataframe[0].value
    # human column names (dembias.read.vocabulary); p_s, p_t and ratio keep theirs, labelled by the page's column_config
    assert {"Topic", "Contributions", "p_s", "p_t", "ratio", "Carried", "Minority topic"} <= set(ratios.columns)
    assert ratios["p_s"].sum() == pytest.approx(1 - 0, abs=0.25)  # clusters without noise


def test_minorities_page(demo_ws, monkeypatch):
    at = app_at(monkeypatch, demo_ws, "pages/minorities.py", debate="klimarat-produktion-konsum")
    assert at.title[0].value == "Marginalized minorities"
    assert [m.label for m in at.metric][:3] == [
        "Topics dropped",
        "Topics under-represented",
        "Opinion groups under-represented",
    ]
    opinion = at.dataframe[0].value
    assert list(opinion.columns) == [
        "Vote group",
        "Participants",
        "p_s",
        "p_t",
        "ratio",
        "Ratio 95% interval",
        "Sentences speaking for it",
        "Under-represented",
    ]
    marginalized = at.dataframe[1].value
    picker = at.selectbox(key="w_mcl")
    assert len(picker.options) == len(marginalized)
    assert picker.value == str(marginalized["Topic"].iloc[0])  # minority clusters first
    other = str(marginalized["Topic"].iloc[-1])
    picker.set_value(other).run()
    assert not at.exception
    assert at.query_params["mcl"] == other  # the examined cluster is in the URL
    assert any(f"**C{other} · " in m.value for m in at.markdown)
    breakdown = at.dataframe[2].value
    assert list(breakdown.columns) == ["Country", "n", "Withheld (small cell)"]
    at.radio(key="w_by").set_value("language").run()
    assert list(at.dataframe[2].value.columns) == ["Language", "n", "Withheld (small cell)"]
    assert at.query_params["by"] == "language"


def test_missing_workspace_is_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMBIAS_WORKSPACE", str(tmp_path / "none"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "dembias demo" in at.error[0].value


def test_fidelity_compare_and_annotations_pages(demo_ws, monkeypatch):
    at = app_at(monkeypatch, demo_ws, "pages/fidelity.py", debate="bowling-green")
    assert at.title[0].value == "Fidelity of rewrites and translations"
    at = app_at(monkeypatch, demo_ws, "pages/compare.py", debate="bowling-green")
    assert at.title[0].value == "Compare"
    metrics = at.dataframe[0].value
    assert "survival" in set(metrics["Metric"])  # human names first, the metric's id in its own column
    at = app_at(monkeypatch, demo_ws, "pages/annotations.py", debate="bowling-green")
    assert at.title[0].value == "Annotations"


def test_the_finding_opens_overview_map_survival_and_minorities(demo_ws, monkeypatch):
    from dembias.read.queries import outputs_table

    outputs = outputs_table(demo_ws, "nz-ubi")
    smol = outputs[outputs["model"].str.contains("SmolLM2")]["output_id"].iloc[0]
    at = app_at(monkeypatch, demo_ws, debate="nz-ubi", output=smol)
    for page in (None, "pages/map.py", "pages/survival.py", "pages/minorities.py"):
        if page:
            at.switch_page(page).run()
        assert not at.exception, at.exception
        finding = at.info[0].value
        assert finding.startswith("**Finding.** The SmolLM2-135M-Instruct summary is degenerate"), page
        assert "title repeated" in finding and "gets no sentence" in finding


def test_compare_refuses_to_compare_a_run_with_itself(demo_ws, monkeypatch):
    at = app_at(monkeypatch, demo_ws, "pages/compare.py", debate="nz-ubi", cmode="two runs")
    assert any("single pluralism scoring run" in w.value for w in at.warning)
    assert not at.dataframe  # no metrics table of a run against itself


def test_saved_survival_chart_says_which_debate_and_output(demo_ws, monkeypatch):
    from dembias.read.queries import outputs_table

    outputs = outputs_table(demo_ws, "nz-ubi")
    smol = outputs[outputs["model"].str.contains("SmolLM2")]["output_id"].iloc[0]
    at = app_at(monkeypatch, demo_ws, "pages/survival.py", debate="nz-ubi", output=smol)
    chart = at.get("plotly_chart")[0].proto
    title = json.loads(chart.spec)["layout"]["title"]["text"]
    assert title.startswith("Topic shares: debate and summary<br>") and "debate nz-ubi — HuggingFaceTB/SmolLM2" in title
    assert json.loads(chart.config)["toImageButtonOptions"]["filename"] == "survival_nz-ubi_SmolLM2-135M-Instruct"


def test_interactions_page_on_a_hand_made_log(tmp_path, monkeypatch):
    from dembias.fidelity.interaction_runs import score_interaction_log
    from dembias.ingest import ingest_contributions
    from dembias.workspace.folder import Workspace
    from tests.helpers import write
    from tests.test_interactions import LOG

    ws = Workspace(tmp_path / "ws")
    ingest_contributions(ws, write(tmp_path / "c.csv", "id,text\n1,a\n2,b\n3,c\n"), debate_id="town", language="en")
    rows = [dict(r, debate_id="town", labels={"simulated": True}) for r in LOG]
    log = write(tmp_path / "log.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    score_interaction_log(ws, debate_id="town", log=log, min_cell=2, n_resamples=200)
    at = app_at(monkeypatch, ws, "pages/interactions.py", debate="town")
    assert at.title[0].value == "Bot-citizen interactions"
    assert any("Simulated outcomes" in w.value for w in at.warning)
    finding = at.info[0].value.replace("\\", "")  # the finding box escapes markdown characters
    assert finding.startswith("**Finding.** Citizens accepted 33% of 6 suggestions (95% interval 10%–70%)")
    assert finding.endswith("Outcomes are simulated, to demonstrate the method.")
    rates = at.dataframe[0].value
    assert rates.set_index("Value").loc["en", "acceptance_rate"] == pytest.approx(1 / 3)
    at.radio(key="w_interactions_by").set_value("country").run()
    assert "Not enough interactions in 2 cell(s) (BE, GB): hidden under the small-cell rule." in [
        c.value for c in at.caption
    ]
    flagged = at.dataframe[2].value
    assert set(flagged["Interaction"]) == {"row-1", "row-3", "row-6"}
    withheld = flagged.set_index("Interaction")["Withheld"]
    assert withheld.to_dict() == {"row-1": False, "row-3": True, "row-6": True}  # GB and BE: one contributor each


def test_interactions_page_shows_user_text_as_text(tmp_path, monkeypatch):
    from dembias.fidelity.interaction_runs import score_interaction_log
    from dembias.workspace.folder import Workspace
    from tests.helpers import write

    evil = "<img src=x onerror=alert(1)> ![x](http://evil.invalid/x.png) **bold** not"
    rows = [
        {"contribution_id": str(i), "author": f"a{i}", "language": "en", "country": "US", "outcome": "edited",
         "draft": f"{evil} {i}", "suggestion": f"{evil.replace(' not', '')} {i} please", "final": f"{evil} {i}!",
         "debate_id": "town"}
        for i in range(5)
    ]  # fmt: skip
    ws = Workspace(tmp_path / "ws")
    from dembias.ingest import ingest_contributions

    ingest_contributions(ws, write(tmp_path / "c.csv", "id,text\n0,a\n"), debate_id="town", language="en")
    score_interaction_log(ws, debate_id="town", log=write(tmp_path / "l.jsonl", "\n".join(map(json.dumps, rows))))
    at = app_at(monkeypatch, ws, "pages/interactions.py", debate="town")
    assert len(at.expander) >= 5  # every suggestion drops the draft's "not": flagged
    for element in [*at.markdown, *at.caption, *at.info]:
        assert "<img" not in element.value and "](http" not in element.value, element.value
    quoted = [h.proto.body for h in at.get("html")]
    assert any("&lt;img src=x onerror=alert(1)&gt;" in body for body in quoted)
    assert not any("<img" in body for body in quoted)


def test_compare_shows_each_models_spread_across_samples(demo_ws, monkeypatch):
    at = app_at(monkeypatch, demo_ws, "pages/compare.py", debate="bowling-green")
    assert "Spread across repeated samples" in [s.value for s in at.subheader]
    spread = next(d.value for d in at.dataframe if "samples" in d.value.columns)
    assert {"Model", "prompt", "samples", "mean", "sd", "min", "max", "low", "high"} <= set(spread.columns)
    assert (spread["samples"] == 1).all() and (spread["sd"] == "—").all()  # the demo has one sample per model
    assert any("single sample" in i.value for i in at.info)


def test_the_glossary_is_in_the_sidebar_of_every_page(demo_ws, monkeypatch):
    """The app shows dembias.read.vocabulary.GLOSSARY, the same text as docs/glossary.md (tests/test_counts.py)."""
    from dembias.read.vocabulary import GLOSSARY

    at = app_at(monkeypatch, demo_ws, "pages/fidelity.py", debate="nz-ubi")
    shown = " ".join(m.value for m in at.sidebar.markdown)
    assert all(text in shown for text in GLOSSARY.values())


def test_a_link_naming_nothing_warns_instead_of_falling_back_silently(demo_ws, monkeypatch):
    at = app_at(monkeypatch, demo_ws, debate="no-such-debate", prun="pluralism-19990101T000000-deadbeef")
    notes = [w.value for w in at.warning]
    assert any("debate 'no-such-debate', which this workspace does not hold" in n for n in notes), notes
    assert at.sidebar.selectbox[0].value != "no-such-debate"


def test_what_it_left_out_page_from_a_link(demo_ws, monkeypatch):
    """nz-ubi's SmolLM2 summary drops opinion group 1 and topics: the page opens on the item a link names."""
    at = app_at(monkeypatch, demo_ws, debate="nz-ubi")
    links = {e.proto.label: e.proto for e in at.get("page_link")}
    (scorecard_link,) = [p for label, p in links.items() if "summary left out" in label]
    assert scorecard_link.page == "left_out"
    at = app_at(monkeypatch, demo_ws, "pages/left_out.py", debate="nz-ubi", item="group:1", q="ubi")
    assert at.title[0].value == "What it left out"
    assert at.selectbox(key="w_item").value == "group:1"
    assert any("opinion group 1" in m.value and "dropped" in m.value for m in at.markdown)
    keys = at.selectbox(key="w_item").options
    dropped = dropped_topics(demo_ws, "nz-ubi")  # read from the runs: it moves with UMAP/HDBSCAN releases
    assert dropped, "the degenerate SmolLM2 summary should drop topics of nz-ubi"
    assert len(keys) == len(dropped) + 1 and all("dropped" in k for k in keys)  # its dropped topics, one group
    assert any("containing “ubi”" in c.value for c in at.caption)
    assert at.query_params["item"] == "group:1" and at.query_params["q"] == "ubi"
    topic = f"topic:{dropped[-1]}"
    at.selectbox(key="w_item").set_value(topic).run()  # the reader's own choice wins over the link's
    assert not at.exception and at.query_params["item"] == topic
    assert at.selectbox(key="w_item").value == topic


def test_survival_points_a_dropped_cluster_to_its_contributions(demo_ws, monkeypatch):
    at = app_at(monkeypatch, demo_ws, "pages/survival.py", debate="nz-ubi")
    at.multiselect(key="w_units_clusters").set_value([3]).run()
    assert not at.exception
    assert any("No sentence of the summary links to C3" in i.value for i in at.info)
    assert "Read C3's contributions →" in [e.proto.label for e in at.get("page_link")]
