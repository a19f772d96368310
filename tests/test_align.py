"""Linking units to contributions: citations, calibrated similarity, and NLI on a tiny random model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dembias.errors import DembiasError
from dembias.models.nli import NliJudge
from dembias.pluralism.align import citation_links, link_output, nli_links, similarity_links
from dembias.pluralism.support import calibrate_support, screen_units
from tests.fakes import FakeEmbedder


def test_citation_links_drop_unknown_ids_and_duplicates():
    citations = pd.DataFrame(
        {"output_id": ["o", "o", "o", "o"], "unit_index": [1, 0, 0, 0], "contribution_id": ["7", "3", "3", "99"]}
    )
    links = citation_links(citations, contribution_ids=["3", "7"])
    assert links.to_dict("records") == [
        {"output_id": "o", "unit_index": 0, "contribution_id": "3", "method": "citation", "score": 1.0},
        {"output_id": "o", "unit_index": 1, "contribution_id": "7", "method": "citation", "score": 1.0},
    ]


def topic_debate(n_topics: int = 5, per_topic: int = 40):
    embedder = FakeEmbedder(dim=32, noise=0.6, seed=1)
    texts = [f"t{t}::opinion {i}" for t in range(n_topics) for i in range(per_topic)]
    ids = [f"c{i}" for i in range(len(texts))]
    contributions = pd.DataFrame({"contribution_id": ids, "text": texts})
    return embedder, contributions, embedder.embed(texts)


def test_similarity_links_find_the_units_topic():
    # 20 topics: a random pair shares its topic 5% of the time, so the 99th percentile of the null sits
    # among same-topic similarities and links keep to the unit's topic
    embedder, contributions, vectors = topic_debate(20, 20)
    units = pd.DataFrame({"unit_index": range(10), "text": [f"t{2 * u}::summary sentence {u}" for u in range(10)]})
    null = embedder.embed([f"unrelated {i}" for i in range(100)])
    threshold = calibrate_support(vectors, null).link_threshold
    links, _ = similarity_links(
        "o",
        units["unit_index"],
        embedder.embed(units["text"].tolist()),
        contributions["contribution_id"],
        vectors,
        threshold=threshold,
    )
    topic = contributions.set_index("contribution_id")["text"].str.split("::").str[0]
    linked_topics = links.assign(topic=links["contribution_id"].map(topic))
    precision = (linked_topics["topic"] == "t" + (2 * linked_topics["unit_index"]).astype(str)).mean()
    assert precision >= 0.95
    assert links["unit_index"].nunique() >= 8
    assert (links["score"] >= threshold).all() and (links["method"] == "similarity").all()
    capped, _ = similarity_links(
        "o",
        units["unit_index"],
        embedder.embed(units["text"].tolist()),
        contributions["contribution_id"],
        vectors,
        threshold=threshold,
        max_links_per_unit=2,
    )
    assert capped.groupby("unit_index").size().max() <= 2


def test_link_output_keeps_supported_citations_only():
    embedder, contributions, vectors = topic_debate(4, 10)
    calibration = calibrate_support(vectors, embedder.embed([f"unrelated {i}" for i in range(100)]))
    texts = ["t0::about topic zero", "t1::about topic one", "t1::about topic one"]
    units = pd.DataFrame({"unit_index": [0, 1, 2], "text": texts})
    unit_vectors = embedder.embed(texts)
    screen = screen_units(texts, unit_vectors, vectors, calibration)
    assert screen["duplicate_of"].tolist() == [-1, -1, 1]
    # unit 0 cites c1 (its topic: supported) and c15 (topic one: not supported); unit 2 (a copy of unit 1)
    # cites c12 for its original; c999 is not in the debate
    citations = pd.DataFrame(
        {"output_id": "o", "unit_index": [0, 0, 2, 2], "contribution_id": ["c1", "c15", "c12", "c999"]}
    )
    links, info = link_output(
        "o",
        units,
        contributions,
        unit_vectors=unit_vectors,
        contribution_vectors=vectors,
        calibration=calibration,
        screen=screen,
        citations=citations,
    )
    assert sorted(zip(links["unit_index"], links["contribution_id"], strict=True)) == [(0, "c1"), (1, "c12")]
    assert info["n_citations"] == 3 and info["n_supported"] == 2 and info["n_citations_unknown"] == 1
    assert info["citation_precision"] == pytest.approx(2 / 3)
    # without citations: similarity at the debate's threshold, and the duplicate links nothing of its own
    links, info = link_output(
        "o",
        units,
        contributions,
        unit_vectors=unit_vectors,
        contribution_vectors=vectors,
        calibration=calibration,
        screen=screen,
    )
    assert info == {"method": "similarity", "threshold": calibration.link_threshold}
    assert set(links["unit_index"]) == {0, 1}
    topic = contributions.set_index("contribution_id")["text"].str.split("::").str[0]
    assert (links["contribution_id"].map(topic) == links["unit_index"].map({0: "t0", 1: "t1"})).all()


@pytest.fixture(scope="module")
def tiny_nli(tmp_path_factory):
    """A randomly initialised 2-layer BERT NLI model and its tokenizer, saved to a temp folder."""
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-nli")
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "more", "bus", "lines", "trains", "parks", "we", "need"]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(words),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        num_labels=3,
        id2label={0: "contradiction", 1: "entailment", 2: "neutral"},
        label2id={"contradiction": 0, "entailment": 1, "neutral": 2},
    )
    import torch

    torch.manual_seed(0)
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_nli_model_loads_and_scores_pairs(tiny_nli):
    nli = NliJudge.load(str(tiny_nli), device="cpu", batch_size=2)
    assert nli.entailment_index == 1
    probs = nli.entailment(["we need more bus lines", "parks", "trains"], ["more trains", "parks", "bus"])
    assert probs.shape == (3,) and np.all((probs > 0) & (probs < 1))
    # batched and one-by-one give the same probabilities
    single = [nli.entailment([p], [h])[0] for p, h in [("parks", "parks"), ("trains", "bus")]]
    np.testing.assert_allclose(single, nli.entailment(["parks", "trains"], ["parks", "bus"]), atol=1e-5)

    ids, texts = ["a", "b", "c"], ["more bus lines", "more trains", "more parks"]
    every = nli_links("o", [0, 1], ["we need bus", "parks"], ids, texts, nli, threshold=0.0)
    assert len(every) == 6 and set(every["method"]) == {"nli"}
    assert nli_links("o", [0, 1], ["we need bus", "parks"], ids, texts, nli, threshold=1.01).empty
    vectors = np.eye(3)
    limited = nli_links(
        "o",
        [0],
        ["we need bus"],
        ids,
        texts,
        nli,
        threshold=0.0,
        unit_vectors=vectors[:1],
        contribution_vectors=vectors,
        candidates=1,
    )
    assert limited["contribution_id"].tolist() == ["a"]
    probability = nli.entailment(["we need bus"], ["more bus lines"])[0]
    assert limited["score"].iloc[0] == pytest.approx(probability)


def test_nli_model_without_an_entailment_label_is_refused(tiny_nli, tmp_path):
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(tiny_nli)
    config.label2id = {"LABEL_0": 0, "LABEL_1": 1, "LABEL_2": 2}
    config.id2label = {0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}
    import shutil

    shutil.copytree(tiny_nli, tmp_path / "m", dirs_exist_ok=True)
    config.save_pretrained(tmp_path / "m")
    with pytest.raises(DembiasError, match="entailment"):
        NliJudge.load(str(tmp_path / "m"), device="cpu")
    assert NliJudge.load(str(tmp_path / "m"), device="cpu", entailment_index=0).entailment_index == 0


def test_one_nli_judge_serves_linking_and_fidelity(tiny_nli):
    """Pluralism linking's P(unit => contribution) is fidelity's forward entailment: one judge, one pass."""
    judge = NliJudge.load(str(tiny_nli), device="cpu", batch_size=2)
    sources, outputs = ["we need more bus lines", "parks"], ["more trains", "parks"]
    scores = judge.score_pairs(sources, outputs)
    np.testing.assert_allclose(judge.entailment(sources, outputs), scores.forward, atol=1e-6)
    np.testing.assert_allclose(judge.entailment(outputs, sources), scores.backward, atol=1e-6)
