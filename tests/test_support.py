"""The support test, unit screening, quality flags, the placebo and bias-corrected intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dembias.pluralism.placebo import placebo_headlines, random_links
from dembias.pluralism.quality import assess_output
from dembias.pluralism.support import calibrate_support, copies_title, null_sentences, null_sentences_for, screen_units
from dembias.pluralism.topics import TopicCells, topic_point
from dembias.uncertainty import bias_corrected_interval
from tests.fakes import FakeEmbedder


def unit(*xs: float) -> np.ndarray:
    v = np.asarray(xs, dtype=float)
    return v / np.linalg.norm(v)


def test_calibration_is_exact_on_a_hand_made_debate():
    contributions = np.stack([unit(1, 0, 0), unit(0, 1, 0), unit(1, 1, 0)])
    nulls = np.stack([unit(0, 0, 1), unit(1, 0, 1), unit(0, 1, 2), unit(-1, 0, 0)])
    cal = calibrate_support(contributions, nulls, link_quantile=0.5, pair_quantile=0.5, within_quantile=0.5)
    sims = nulls @ contributions.T
    assert cal.unrelated_max_threshold == pytest.approx(np.quantile(sims.max(axis=1), 0.5))
    assert cal.citation_threshold == pytest.approx(np.quantile(sims.ravel(), 0.5))
    centroid = contributions.mean(axis=0) / np.linalg.norm(contributions.mean(axis=0))
    assert cal.centroid_threshold == pytest.approx(np.quantile(nulls @ centroid, 0.5))
    assert cal.link_threshold == max(cal.unrelated_max_threshold, cal.within_threshold)
    # within-debate pairs are of distinct contributions: the three possible similarities are 0, 0.71, 0.71
    assert cal.within_threshold == pytest.approx(np.sqrt(0.5), abs=1e-6)
    with pytest.raises(ValueError, match="link_quantile"):
        calibrate_support(contributions, nulls, link_quantile=1.0)


def test_unrelated_text_links_to_almost_nothing():
    embedder = FakeEmbedder(dim=32, noise=0.6, seed=3)
    contributions = embedder.embed([f"t{t}::opinion {i}" for t in range(10) for i in range(30)])
    cal = calibrate_support(contributions, embedder.embed([f"null {i}" for i in range(200)]), seed=1)
    unrelated = embedder.embed([f"other {i}" for i in range(500)])
    share = ((unrelated @ contributions.T).max(axis=1) >= cal.link_threshold).mean()
    assert share <= 0.10  # family-wise: at most ~5% of unrelated units link anything
    related = embedder.embed([f"t{t}::summary" for t in range(10)])
    assert ((related @ contributions.T).max(axis=1) >= cal.link_threshold).sum() >= 8


def test_null_sentences_in_the_debate_language_when_there_are_enough():
    table = null_sentences()
    assert set(table["language"]) == {"en", "fr", "de", "it", "es", "zh"}
    assert set(null_sentences_for("zh-Hant")["language"]) == {"zh"}
    assert len(null_sentences_for("xx")) == len(table)


def test_copies_title():
    assert copies_title("3. HiveMind - Freshwater Quality in NZ", "HiveMind - Freshwater Quality in NZ")
    assert copies_title("[12] A Universal Basic Income for Aotearoa NZ?", "A Universal Basic Income for Aotearoa NZ?")
    assert not copies_title("Farmers want stricter nitrate limits in NZ rivers", "Freshwater Quality in NZ")
    assert not copies_title("anything", None)


def test_screen_marks_duplicates_title_unrelated_and_debate_level():
    contributions = np.stack([unit(1, 0, 0, 0), unit(0, 1, 0, 0), unit(1, 1, 0.5, 0)])
    nulls = np.stack([unit(0.1, 0.1, 1, x) for x in np.linspace(-1, 1, 20)])
    cal = calibrate_support(contributions, nulls)
    texts = ["specific one", "specific one!", "The Title", "", "meta talk", "debate level", "specific two"]
    vectors = np.stack(
        [
            unit(1, 0, 0, 0),  # contribution 0
            unit(1, 0, 0, 0.3),  # same words: duplicate
            unit(0, 0.5, 0, -1),  # copies the title (by its words)
            unit(0, 0, 1, 0),  # empty text
            unit(0, 0, 0.3, 1),  # unrelated to everything
            unit(*contributions.mean(axis=0)),  # the debate as a whole: closer to the centroid than to any contribution
            unit(0.1, 1, 0, 0),
        ]
    )
    screen = screen_units(texts, vectors, contributions, cal, title="the title")
    assert screen["reason"].tolist() == [None, "duplicate", "title", "empty", "unrelated", "debate-level", None]
    assert screen["duplicate_of"].tolist() == [-1, 0, -1, -1, -1, -1, -1]
    assert screen["content_free"].tolist() == [False, False, True, True, True, True, False]


def screen_frame(reasons: list[str | None], duplicate_of: list[int]) -> pd.DataFrame:
    free = {"empty", "title", "unrelated", "debate-level"}
    content_free = [r in free for r in reasons]
    content_free = [content_free[d] if d >= 0 else c for c, d in zip(content_free, duplicate_of, strict=True)]
    return pd.DataFrame({"reason": reasons, "duplicate_of": duplicate_of, "content_free": content_free})


def test_quality_flags_name_degenerate_outputs():
    title_repeated = screen_frame(["title", "duplicate", "duplicate", None], [-1, 0, 0, -1])
    q = assess_output(["T", "T", "T", "real point"], title_repeated, n_linked_units=1)
    assert q.flags == ["repetition", "copied_title", "mostly_content_free"]
    assert "2 of its 4 sentences repeat" in q.notes[0]
    q = assess_output(["a", "b", "c"], screen_frame([None] * 3, [-1] * 3), n_citations=10, n_supported=2)
    assert q.flags == ["unsupported_citations", "links_nothing"]
    assert assess_output([], screen_frame([], [])).flags == ["empty"]
    prompt = "Write a short summary of the opinions expressed, including minority opinions."
    q = assess_output(["Write a short summary of the opinions expressed."], screen_frame([None], [-1]), prompt=prompt,
                      n_linked_units=1)  # fmt: skip
    assert q.flags == ["copied_prompt"]
    q = assess_output(
        ["Die Regierung muss mehr für das Klima tun, sagen viele."],
        screen_frame([None], [-1]),
        text="Die Regierung muss mehr für das Klima tun, sagen viele.",
        expected_language="en",
        n_linked_units=1,
    )
    assert q.flags == ["wrong_language"]
    assert assess_output(["fine"], screen_frame([None], [-1]), n_linked_units=1).flags == []


def test_random_links_keep_each_units_count():
    ids = pd.Series([f"c{i}" for i in range(50)])
    links = pd.DataFrame({"unit_index": [0, 0, 0, 1, 2, 2], "contribution_id": ["c1", "c2", "c3", "c1", "c4", "c5"]})
    drawn = random_links(links, ids, np.random.default_rng(0))
    assert drawn.groupby("unit_index")["contribution_id"].nunique().to_dict() == {0: 3, 1: 1, 2: 2}
    assert set(drawn["contribution_id"]) <= set(ids)


def test_placebo_of_a_summary_that_links_everything_is_itself():
    ids = pd.Series([f"c{i}" for i in range(12)])
    cells = TopicCells.build(ids, pd.Series([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, -1, -1]))
    everything = pd.DataFrame({"unit_index": 0, "contribution_id": ids})
    placebo = placebo_headlines(cells, everything, n_draws=5, seed=1)
    point = topic_point(cells, everything)
    assert placebo["coverage"][0] == point["coverage"] == 1.0
    assert placebo["survival"] == (1.0, 1.0, 1.0)
    # a summary with one link reaches one topic: its placebo reaches one topic (or noise) too
    one = pd.DataFrame({"unit_index": [0], "contribution_id": ["c0"]})
    assert placebo_headlines(cells, one, n_draws=50, seed=2)["survival"][0] <= 1 / 3 + 1e-9


def test_bias_corrected_interval_holds_its_estimate():
    rng = np.random.default_rng(0)
    samples = rng.normal(0.02, 0.002, size=1000)
    low, high, widened = bias_corrected_interval(0.001, samples)
    assert low == 0.001 <= high and widened  # every resample above the estimate: widened, and said so
    low, high, widened = bias_corrected_interval(0.005, rng.normal(0.02, 0.01, size=1000))
    assert low <= 0.005 <= high and not widened  # 7% of resamples below: BC shifts the interval to hold it
    low, high, widened = bias_corrected_interval(0.02, samples)
    assert low < 0.02 < high and not widened
    assert np.isnan(bias_corrected_interval(0.5, np.array([np.nan]))[0])
