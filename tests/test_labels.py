"""Cluster labels: tokenisation with stop words per language, c-TF-IDF keywords, representatives."""

from __future__ import annotations

import numpy as np

from dembias.opinion_map.diagnostics import cluster_persistence, cross_language_nn_share, nmi_language, stability_ari
from dembias.opinion_map.labels import ctfidf_keywords, representatives, stop_words, tokenize


def test_tokenize_drops_stop_words_and_splits_chinese_into_bigrams():
    stop = stop_words("de") | stop_words("en")
    assert tokenize("Die Stadt und the city, 2024!", stop=stop) == ["stadt", "city"]
    assert tokenize("共享經濟", stop=stop_words("zh")) == ["共享", "享經", "經濟"]
    assert "le" in stop_words("fr") and "het" in stop_words("nl") and "della" in stop_words("it")
    assert "para" in stop_words("es") and "的" in stop_words("zh-Hant")


def test_ctfidf_keywords_on_three_clusters():
    texts = ["bus bus route", "the bus is late", "rent rent prices", "high rent", "trees and parks", "spam"]
    keywords = ctfidf_keywords(texts, [0, 0, 1, 1, 2, -1], languages=["en"] * 6, top_n=2)
    assert keywords[0] == ["bus", "late"]
    assert keywords[1] == ["rent", "high"]
    assert keywords[2] == ["parks", "trees"]
    assert keywords[-1] == ["spam"]


def test_representatives_are_closest_to_the_centroid():
    embeddings = np.array([[1, 0], [0.8, 0.6], [0.6, 0.8], [0, 1]], dtype=np.float32)
    reps = representatives(["a", "b", "c", "d"], embeddings, np.array([0, 0, 0, 1]), n=2)
    assert reps == {0: ["b", "c"], 1: ["d"]}  # centroid (0.86, 0.50): b 0.99, c 0.92, a 0.86


def test_diagnostics_on_tiny_labelings():
    a = np.array([0, 0, 1, 1, -1])
    assert stability_ari([a, a, a]) == 1.0
    assert cluster_persistence(a, [a, np.array([0, 0, 0, 0, 0])]) == {0: 0.5, 1: 0.5}
    assert nmi_language(a, ["en"] * 5) == 0.0
    assert nmi_language(np.array([0, 0, 1, 1]), ["en", "en", "de", "de"]) == 1.0
    vectors = np.array([[1, 0], [0.99, 0.1], [0, 1], [0.1, 0.99]])
    assert cross_language_nn_share(vectors, ["en", "en", "de", "de"], k=1) == 0.0
    assert cross_language_nn_share(vectors, ["en", "de", "en", "de"], k=1) == 1.0
