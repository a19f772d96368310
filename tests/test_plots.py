"""Plot builders return figures; checked through ``fig.to_dict()`` on tiny hand-made frames."""

from __future__ import annotations

import pandas as pd
import pytest

from dembias.plots import fidelity_distribution_figure, metric_dots_figure, opinion_map_figure, survival_figure
from dembias.plots.opinion_map import MAP_PALETTE, Overlays, matching_ids, with_hover
from dembias.plots.style import DROPPED_COLOUR, FADED_COLOUR, NOISE_COLOUR, safe_hover

POINTS = pd.DataFrame(
    {
        "contribution_id": ["1", "2", "3", "4"],
        "x": [0.0, 1.0, 2.0, 3.0],
        "y": [0.0, 1.0, 0.0, 1.0],
        "cluster": [0, 0, 1, -1],
        "label": ["bikes / lanes", "bikes / lanes", "<b>taxes</b>", "noise"],
        "text": ["Bike lanes", "More bikes", "<img src=x onerror=alert(1)>", "misc"],
        "language": ["en", "fr", "en", None],
    }
)


def test_opinion_map_traces_customdata_and_dropped_clusters():
    fig = opinion_map_figure(POINTS, covered_clusters=[0]).to_dict()
    traces = {t["name"]: t for t in fig["data"]}
    assert set(traces) == {"noise", "C0 bikes / lanes", "dropped by the summary (1 topic)"}
    assert list(traces["C0 bikes / lanes"]["customdata"]) == ["1", "2"]
    dropped = traces["dropped by the summary (1 topic)"]
    # vermilion diamonds: neither the light grey of noise nor any colour of a kept topic
    assert (dropped["marker"]["color"], dropped["marker"]["symbol"]) == (DROPPED_COLOUR, "diamond")
    assert traces["noise"]["marker"]["color"] == NOISE_COLOUR
    assert DROPPED_COLOUR not in MAP_PALETTE
    assert "C1 &lt;b&gt;taxes&lt;/b&gt; · dropped by the summary" in dropped["hovertext"][0]
    assert all(t["type"] == "scattergl" for t in fig["data"])
    assert fig["layout"]["dragmode"] == "lasso"
    # each topic's label at its centre, the dropped one first and marked (escaped: plotly renders tags)
    notes = [(a["text"], a["x"], a["y"]) for a in fig["layout"]["annotations"]]
    assert notes == [("<b>C1 &lt;b&gt;taxes&lt;/b&gt;</b> · dropped", 2.0, 0.0), ("C0 bikes / lanes", 0.5, 0.5)]


def test_map_modes_fade_search_and_pin():
    focus = opinion_map_figure(POINTS, covered_clusters=[0], focus_dropped=True).to_dict()
    opacity = {t["name"]: t["marker"]["opacity"] for t in focus["data"]}
    assert opacity == {"noise": 0.12, "C0 bikes / lanes": 0.12, "dropped by the summary (1 topic)": 0.95}
    assert [a["text"] for a in focus["layout"]["annotations"]] == ["<b>C1 &lt;b&gt;taxes&lt;/b&gt;</b> · dropped"]
    surviving = opinion_map_figure(POINTS, covered_clusters=[0], surviving_only=True).to_dict()
    faded = next(t for t in surviving["data"] if t["name"].startswith("dropped"))
    assert (faded["marker"]["color"], faded["marker"]["opacity"]) == (FADED_COLOUR, 0.35)
    assert matching_ids(POINTS, "BIKE") == ["1", "2"] and matching_ids(POINTS, "  ") == []
    assert matching_ids(POINTS, "<img") == ["3"]  # literal, not a pattern
    rings = opinion_map_figure(POINTS, overlays=Overlays(["2", "3"], "contains “x”", "4"))
    names = [t.name for t in rings.data]
    assert names[-2:] == ["contains “x” (2)", "pinned"]
    assert list(rings.data[-2].customdata) == ["2", "3"] and list(rings.data[-1].customdata) == ["4"]
    assert (
        opinion_map_figure(POINTS, overlays=Overlays(pinned_id="nope")).data[-1].name != "pinned"
    )  # not drawn: nothing to ring


def test_hover_text_is_escaped():
    fig = opinion_map_figure(POINTS).to_dict()
    hovers = [h for t in fig["data"] for h in t["hovertext"]]
    assert not any("<img" in h for h in hovers)
    assert any("&lt;img src=x onerror=alert(1)&gt;" in h for h in hovers)


def test_safe_hover_wraps_escapes_and_truncates():
    assert safe_hover("one two  three\nfour", width=9) == "one two<br>three<br>four"
    assert safe_hover("x" * 12, width=5) == "xxxxx<br>xxxxx<br>xx"  # a word longer than a line is cut
    assert safe_hover("a <b> & c", width=70) == "a &lt;b&gt; &amp; c"
    assert safe_hover("abcdefgh", max_chars=5) == "abcd…"
    assert safe_hover(None) == ""


def test_precomputed_hover_gives_the_same_figure():
    plain = opinion_map_figure(POINTS, color_by="cluster").to_dict()
    cached = opinion_map_figure(with_hover(POINTS), color_by="cluster").to_dict()
    assert [list(t["hovertext"]) for t in plain["data"]] == [list(t["hovertext"]) for t in cached["data"]]


def test_colour_by_language_keeps_unknown_and_units_overlay():
    units = pd.DataFrame({"unit_index": [0], "text": ["A sentence"], "x": [0.5], "y": [0.5]})
    fig = opinion_map_figure(POINTS, color_by="language", units=units).to_dict()
    assert [t["name"] for t in fig["data"]] == ["en", "fr", "unknown", "summary units"]
    with pytest.raises(ValueError):
        opinion_map_figure(POINTS, color_by="age")


def test_survival_figure_orders_by_size_and_marks_minorities():
    clusters = pd.DataFrame(
        {
            "cluster": [0, 1, 2],
            "label": ["a", "b", "c"],
            "p_s": [0.6, 0.3, 0.1],
            "p_t": [0.8, 0.2, 0.0],
            "covered": [True, True, False],
            "is_minority": [False, False, True],
        }
    )
    debate, summary = survival_figure(clusters).data  # numeric arrays: from the figure (to_dict packs them)
    assert list(debate.y) == ["★ ✕ C2 c", "C1 b", "C0 a"]  # smallest at the bottom of a horizontal chart
    assert list(summary.x) == [0.0, 0.2, 0.8]


def test_metric_dots_and_fidelity_distribution():
    scores = pd.DataFrame(
        {
            "model": ["baseline:random", "gemini"],
            "uer_topics": [0.02, 0.01],
            "uer_topics_low": [0.01, 0.005],
            "uer_topics_high": [0.03, 0.02],
        }
    )
    dots = metric_dots_figure(scores, "uer_topics").data[0]
    assert list(dots.y) == ["gemini", "baseline:random"]
    assert [round(v, 3) for v in dots.error_x.array] == [0.01, 0.01]
    assert [round(v, 3) for v in dots.error_x.arrayminus] == [0.005, 0.01]
    pairs = pd.DataFrame(
        {"output_id": ["a", "b", "c"], "language_pair": ["en->fr", "en->fr", "de->en"], "similarity": [0.9, 0.8, 0.4]}
    )
    boxes = fidelity_distribution_figure(pairs, by="language_pair").to_dict()["data"]
    assert [b["name"] for b in boxes] == ["de-&gt;en (n=1)", "en-&gt;fr (n=2)"]
    assert {b["boxpoints"] for b in boxes} == {"all"}


def test_fidelity_distribution_draws_only_outliers_above_the_cap():
    from dembias.plots.fidelity import ALL_POINTS_MAX

    n = ALL_POINTS_MAX + 1
    pairs = pd.DataFrame({"output_id": [str(i) for i in range(n)], "country": ["FR"] * n, "similarity": [0.5] * n})
    (box,) = fidelity_distribution_figure(pairs, by="country").data
    assert box.boxpoints == "outliers"
    assert len(box.y) == n  # the box is still computed from every rewrite


def test_map_draws_the_largest_clusters_one_by_one_and_merges_the_rest():
    import plotly.graph_objects as go

    from dembias.plots.opinion_map import LEGEND_CAP

    n = LEGEND_CAP + 10
    many = pd.DataFrame(
        {
            "contribution_id": [str(i) for i in range(n)],
            "x": [float(i) for i in range(n)],
            "y": [0.0] * n,
            "cluster": list(range(n)),
            "text": ["t"] * n,
        }
    )
    units = pd.DataFrame({"unit_index": [0], "text": ["A sentence"], "x": [0.5], "y": [0.5]})
    fig = opinion_map_figure(many, covered_clusters=[0, 1, LEGEND_CAP + 5], units=units)
    go.Figure(fig.to_dict())  # built without per-trace validation: the result must still be a valid figure
    names = [t.name for t in fig.data]
    # the 27 topics the summary does not carry share one trace and one legend entry
    assert names == ["C0", "C1", f"C{LEGEND_CAP + 5}", "dropped by the summary (27 topics)", "summary units"]
    merged = fig.data[3]
    assert merged.marker.color == DROPPED_COLOUR and len(merged.x) == 27
    kept = opinion_map_figure(many)  # without a summary: the largest 20 one by one, the rest merged
    assert [t.name for t in kept.data][LEGEND_CAP:] == ["10 smaller clusters"]
    assert len(set(kept.data[LEGEND_CAP].marker.color)) > 1  # each merged cluster keeps its own colour
    assert "C2 · dropped by the summary" in merged.hovertext[0]  # the hover still names each point's cluster
    ids = [c for t in fig.data[:-1] for c in t.customdata]
    assert sorted(ids, key=int) == [str(i) for i in range(n)]  # every point drawn exactly once


def test_interaction_figures_draw_intervals_and_skip_hidden_cells(tmp_path):
    from dembias.fidelity.interaction_log import read_interactions
    from dembias.fidelity.interaction_scores import score_interactions
    from dembias.fidelity.interaction_slices import pull_table, rate_table
    from dembias.plots import interaction_pull_figure, interaction_rates_figure
    from tests.test_interactions import _log

    scored = score_interactions(read_interactions(_log(tmp_path)))
    rates = rate_table(scored, dimensions=("country",), min_cell=2)
    fig = interaction_rates_figure(rates, dimension="country")
    assert [t.name for t in fig.data] == ["accepted", "edited", "rejected"]
    assert list(fig.data[0].x) == ["FR (n=2)", "US (n=2)"]  # BE and GB (one contributor) are not drawn
    us = rates.set_index("value").loc["US"]
    assert fig.data[0].error_y.array[1] == pytest.approx(us.acceptance_high - 0.5)
    pull = pull_table(scored, dimensions=("country",), min_cell=2, n_resamples=100, n_permutations=100)
    assert list(interaction_pull_figure(pull, dimension="country").data[0].y) == ["all (n=6)", "FR (n=2)", "US (n=2)"]
