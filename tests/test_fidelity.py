"""Fidelity metrics: the percentile, the null, the review score, aggregates, NLI, and the glue on a workspace."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dembias.errors import DembiasError, NothingToDo
from dembias.fidelity import FidelityParams, FidelityRun, run
from dembias.fidelity.json_view import fidelity_json
from dembias.fidelity.metrics import (
    AGGREGATE_COLUMNS,
    NO_STANCE_NOTE,
    PAIR_COUNTRY,
    aggregate,
    cohen_d,
    country_language_table,
    group_tests,
    null_similarities,
    pair_similarities,
    review_score,
    similarity_percentile,
)
from dembias.fidelity.pair_loading import load_pairs
from dembias.fidelity.stage import demo_stage
from dembias.ingest import ingest_contributions, ingest_outputs
from dembias.models.bundle import StageModels
from dembias.models.nli import nli_label_indices
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import list_runs, read_run_table
from tests.fakes import FakeEmbedder
from tests.helpers import write

# --------------------------------------------------------------------------------------------------
# percentile and null


def test_percentile_counts_strictly_below():
    null = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    assert similarity_percentile(0.35, null) == 60.0
    assert similarity_percentile(0.3, null) == 40.0  # ties are not below
    assert similarity_percentile(0.05, null) == 0.0
    assert similarity_percentile(0.9, null) == 100.0
    assert similarity_percentile(0.5, np.array([0.5, 0.5, np.nan, 0.1])) == pytest.approx(100 / 3)
    assert np.isnan(similarity_percentile(0.5, np.array([])))


def test_null_excludes_sources_and_samples_with_a_seed():
    pool = np.eye(4)
    output = np.array([1.0, 0.5, 0.0, 0.0])
    assert null_similarities(output, pool, exclude=[0]).tolist() == [0.5, 0.0, 0.0]
    big = np.random.default_rng(1).standard_normal((50, 3))
    a = null_similarities(output[:3], big, exclude=[2], n_null=10, seed=7)
    b = null_similarities(output[:3], big, exclude=[2], n_null=10, seed=7)
    assert a.shape == (10,) and np.array_equal(a, b)
    eligible = np.delete(big, 2, axis=0) @ output[:3]
    assert all(np.any(np.isclose(v, eligible)) for v in a) and not np.any(np.isclose(a, big[2] @ output[:3]))


def test_null_draw_matches_choosing_from_the_eligible_rows():
    """The sampled null equals a draw from the explicit array of eligible rows (what it replaced), exactly."""
    rng = np.random.default_rng(1)
    for trial in range(200):
        n = int(rng.integers(1, 2000))
        pool = rng.standard_normal((n, 4)).astype(np.float32)
        output = rng.standard_normal(4).astype(np.float32)
        exclude = rng.integers(-2, n + 3, size=int(rng.integers(0, 12))).tolist()  # duplicates, out of range
        n_null = int(rng.integers(1, 400))
        eligible = np.setdiff1d(np.arange(n), np.asarray(exclude, dtype=int))
        if eligible.size > n_null:
            eligible = np.sort(np.random.default_rng(trial).choice(eligible, size=n_null, replace=False))
        expected = pool.astype(np.float64)[eligible] @ output.astype(np.float64)
        got = null_similarities(output, pool, exclude=exclude, n_null=n_null, seed=trial)
        assert np.array_equal(got, expected), trial


def test_pair_similarities_rowwise():
    a = np.array([[1.0, 0.0], [0.0, 1.0]])
    b = np.array([[1.0, 0.0], [1.0, 0.0]])
    assert pair_similarities(a, b).tolist() == [1.0, 0.0]


def test_review_score_formula():
    assert review_score(percentile=100.0, flag_kinds=[]) == 0.0
    assert review_score(percentile=100.0, flag_kinds=["negation_added"]) == 0.5
    assert review_score(percentile=100.0, flag_kinds=["negation_added", "number_changed"]) == 0.75
    assert review_score(percentile=100.0, flag_kinds=["hedge_removed"]) == pytest.approx(1 - 0.5**0.5)
    assert review_score(percentile=50.0, flag_kinds=["negation_added"]) == 0.75
    assert review_score(percentile=100.0, flag_kinds=[], entailment_min=0.8) == pytest.approx(0.2)
    assert review_score(percentile=100.0, flag_kinds=[], entailment_min=0.9, stance_flip=True) == 1.0


def test_minority_topics_have_one_definition_noise_counted_in_n():
    from dembias.minority import minority_cluster_ids

    # N = 140 with the noise bucket: 20% is 28, so 8 + 12 = 20 fit and 20 + 30 = 50 does not
    assert minority_cluster_ids({0: 50, 1: 30, 2: 12, 3: 8, -1: 40}) == {2, 3}
    # noise counts in N: without it N = 82 and 20% = 16.4; with 78 noise N = 160, 20% = 32, so 2 + 30 fit
    assert minority_cluster_ids({0: 50, 1: 30, 2: 2}) == {2}
    assert minority_cluster_ids({0: 50, 1: 30, 2: 2, -1: 78}) == {1, 2}
    # ties go to the lowest id, compared as numbers (cluster 2 before cluster 10)
    assert minority_cluster_ids({10: 6, 2: 6, 0: 40}) == {2}
    assert minority_cluster_ids({0: 50, 1: 50}) == set()
    assert minority_cluster_ids({-1: 10}) == set()


def _pairs_frame() -> pd.DataFrame:
    rows = []
    for i in range(12):
        group = "a" if i < 6 else "b"
        rows.append(
            {
                "similarity": 0.9 if group == "a" else 0.5,
                "review_score": 0.0 if group == "a" else 0.5,
                "language_pair": "en->fr" if i < 10 else "en->de",
                "contributors": [f"p{i}"],
                "group": group,
            }
        )
    return pd.DataFrame(rows)


def test_aggregate_suppresses_small_cells_and_bootstraps():
    agg = aggregate(_pairs_frame(), metrics=["similarity"], dimensions=["language_pair", "group"], n_resamples=200)
    by = {(r.dimension, r.value): r for r in agg.itertuples()}
    assert by[("all", "all")].n == 12 and by[("all", "all")].mean == pytest.approx(0.7)
    assert bool(by[("language_pair", "en->de")].suppressed) and np.isnan(by[("language_pair", "en->de")].mean)
    assert by[("language_pair", "en->de")].n == 2
    fr = by[("language_pair", "en->fr")]
    assert not fr.suppressed and fr.low <= fr.mean <= fr.high
    assert by[("group", "a")].mean == pytest.approx(0.9) and by[("group", "a")].low == pytest.approx(0.9)


def test_group_tests_detect_a_real_difference_and_skip_small_groups():
    tests = group_tests(
        _pairs_frame(), metrics=["similarity"], dimensions=["group", "language_pair"], n_permutations=2000
    )
    assert tests["dimension"].tolist() == ["group"]  # en->de has 2 contributors: not tested
    row = tests.iloc[0]
    assert (row.group_a, row.group_b, row.n_a, row.n_b) == ("a", "b", 6, 6)
    assert row.difference == pytest.approx(0.4)
    # no spread within either group: the interval is the difference itself and Cohen's d is undefined
    assert row.difference_low == pytest.approx(0.4) and row.difference_high == pytest.approx(0.4)
    assert np.isnan(row.effect_size)
    assert row.p_value < 0.01 and row.q_value == pytest.approx(row.p_value) and row.family_size == 1


def _three_models(with_c: bool = True) -> pd.DataFrame:
    # a and b: the same eight values in another order; c: far lower
    values = {"a": [0.75, 0.85] * 4, "b": [0.85, 0.75] * 4, "c": [0.15, 0.25] * 4}
    rows = [
        {"model": m, "similarity": v, "contributors": [f"{m}{i}"]}
        for m, vs in values.items()
        if with_c or m != "c"
        for i, v in enumerate(vs)
    ]
    return pd.DataFrame(rows)


def test_group_tests_are_pairwise_not_against_the_rest():
    tests = group_tests(_three_models(), metrics=["similarity"], dimensions=["model"], n_permutations=999)
    assert list(zip(tests.group_a, tests.group_b, strict=True)) == [("a", "b"), ("a", "c"), ("b", "c")]
    by = {(r.group_a, r.group_b): r for r in tests.itertuples()}
    assert by[("a", "c")].q_value < 0.01 and by[("b", "c")].q_value < 0.01 and by[("a", "b")].q_value > 0.05
    assert by[("a", "b")].difference == 0.0 and by[("a", "b")].p_value == 1.0
    assert by[("a", "c")].difference == pytest.approx(0.6) and by[("a", "c")].difference_low > 0.5
    assert by[("a", "c")].effect_size == pytest.approx(0.6 / np.std([0.75, 0.85] * 4, ddof=1))
    assert set(tests.family_size) == {3}
    # a-vs-b does not change when another model is stored next to them (only its q-value's family does)
    alone = group_tests(_three_models(with_c=False), metrics=["similarity"], dimensions=["model"], n_permutations=999)
    assert alone.iloc[0].difference == pytest.approx(by[("a", "b")].difference)
    assert alone.iloc[0].p_value == pytest.approx(by[("a", "b")].p_value)


def test_group_tests_against_a_named_reference():
    tests = group_tests(
        _three_models(), metrics=["similarity"], dimensions=["model"], n_permutations=99, reference={"model": "a"}
    )
    assert list(zip(tests.group_a, tests.group_b, strict=True)) == [("b", "a"), ("c", "a")]
    missing = group_tests(
        _three_models(), metrics=["similarity"], dimensions=["model"], n_permutations=99, reference={"model": "z"}
    )
    assert missing.empty


def test_cohen_d_exact():
    assert cohen_d(np.array([1.0, 2.0, 3.0]), np.array([2.0, 3.0, 4.0])) == pytest.approx(-1.0)
    assert np.isnan(cohen_d(np.array([1.0]), np.array([2.0, 3.0])))


def test_country_language_table_puts_the_metrics_side_by_side():
    agg = pd.DataFrame(
        [
            ("similarity", PAIR_COUNTRY, "m | fr->en | FR", 10, 10, 0.8, 0.7, 0.9, False),
            ("flagged", PAIR_COUNTRY, "m | fr->en | FR", 10, 10, 0.3, 0.1, 0.5, False),
            ("lexical_stance_flip", PAIR_COUNTRY, "m | fr->en | FR", 10, 10, 0.1, 0.0, 0.3, False),
            ("similarity", PAIR_COUNTRY, "m | de->en | DE", 3, 3, np.nan, np.nan, np.nan, True),
            ("similarity", "country", "FR", 10, 10, 0.8, 0.7, 0.9, False),
        ],
        columns=AGGREGATE_COLUMNS,
    )
    table = country_language_table(agg)
    assert table.columns.tolist()[:6] == ["model", "language_pair", "country", "n", "n_contributors", "suppressed"]
    rows = table.set_index(["model", "language_pair", "country"])
    fr = rows.loc[("m", "fr->en", "FR")]
    assert (fr.similarity, fr.similarity_low, fr.flagged_high, fr.lexical_stance_flip) == (0.8, 0.7, 0.5, 0.1)
    de = rows.loc[("m", "de->en", "DE")]
    assert bool(de.suppressed) and de.n == 3 and np.isnan(de.similarity) and np.isnan(de.flagged)


def test_nli_label_indices():
    assert nli_label_indices({0: "ENTAILMENT", 1: "neutral", 2: "CONTRADICTION"}) == (0, 2)
    assert nli_label_indices({"0": "contradiction", "1": "entailment", "2": "neutral"}) == (1, 0)
    with pytest.raises(DembiasError, match="not an NLI model"):
        nli_label_indices({0: "LABEL_0", 1: "LABEL_1"})


# --------------------------------------------------------------------------------------------------
# NLI on a tiny random model built here (the real loading code, fake weights)


def _tiny_nli(tmp_path: Path) -> Path:
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizerFast

    folder = tmp_path / "tiny-nli"
    folder.mkdir()
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "we", "should", "not", "build", "lanes", "bike", "."]
    (folder / "vocab.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(vocab_file=str(folder / "vocab.txt"))
    tokenizer.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(words),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=3,
        id2label={0: "entailment", 1: "neutral", 2: "contradiction"},
        label2id={"entailment": 0, "neutral": 1, "contradiction": 2},
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    return folder


def test_nli_scorer_on_a_tiny_random_model(tmp_path):
    from dembias.models.nli import NliJudge

    scorer = NliJudge.load(str(_tiny_nli(tmp_path)), device="cpu", batch_size=2, require_contradiction=True)
    probs = scorer.probabilities(["we should build bike lanes ."] * 3, ["we should not build lanes ."] * 3)
    assert probs.shape == (3, 3) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)
    scores = scorer.score_pairs(["we should build lanes .", "bike lanes"], ["we should not build lanes .", "bike"])
    assert scores.forward.shape == (2,) and np.all((scores.minimum >= 0) & (scores.minimum <= 1))
    assert np.array_equal(scores.minimum, np.minimum(scores.forward, scores.backward))
    assert scores.stance_flip.dtype == bool


# --------------------------------------------------------------------------------------------------
# glue on a small workspace


CONTRIBUTIONS = [
    ("c0", "We should build more bike lanes downtown.", "p0"),
    ("c1", "Lower taxes on the 40 small businesses of Main Street.", "p1"),
    ("c2", "The city needs a new public library.", "p2"),
    ("c3", "Buses should run every ten minutes.", "p3"),
    ("c4", "Parks must stay open at night.", "p4"),
    ("c5", "Housing is too expensive for young families.", "p5"),
    ("c6", "More trees along the river please.", "p6"),
]


def _workspace(tmp_path: Path) -> Workspace:
    ws = Workspace.resolve(tmp_path / "ws")
    lines = [
        json.dumps({"id": cid, "text": text, "author": author, "language": "en", "country": "US"})
        for cid, text, author in CONTRIBUTIONS
    ]
    ingest_contributions(ws, write(tmp_path / "c.jsonl", "\n".join(lines) + "\n"), debate_id="town")
    outputs = [
        {"output_id": "r0", "task": "reformulation", "source_ids": ["c0"], "text": "We should not build more bike lanes downtown."},
        {"output_id": "r1", "task": "reformulation", "source_ids": ["c1"], "text": "Lower taxes on the 50 small businesses."},
        {"output_id": "t2", "task": "translation", "target_language": "fr", "source_ids": ["c2"], "text": "La ville a besoin d'une nouvelle bibliothèque publique."},
        {"output_id": "t3", "task": "translation", "target_language": "de", "source_ids": ["c3", "c4"], "text": "Busse sollen alle zehn Minuten fahren. Parks müssen nachts offen bleiben."},
        {"output_id": "r5", "task": "reformulation", "source_ids": ["c5"], "text": "Housing costs too much for young families."},
    ]  # fmt: skip
    text = "\n".join(json.dumps({"debate_id": "town", "model": "m", **o}) for o in outputs) + "\n"
    ingest_outputs(ws, write(tmp_path / "o.jsonl", text))
    return ws


def _fake() -> FakeEmbedder:
    # the topic of each text is its contribution id, so outputs share their source's direction
    topics = {text: cid for cid, text, _ in CONTRIBUTIONS}
    topics.update(
        {
            "We should not build more bike lanes downtown.": "c0",
            "Lower taxes on the 50 small businesses.": "c1",
            "La ville a besoin d'une nouvelle bibliothèque publique.": "c2",
            "Busse sollen alle zehn Minuten fahren. Parks müssen nachts offen bleiben.": "c3",
            "Buses should run every ten minutes.\nParks must stay open at night.": "c3",
            "Housing costs too much for young families.": "c5",
        }
    )
    return FakeEmbedder(topics=topics, noise=0.1)


def test_load_pairs_joins_sources_and_languages(tmp_path):
    pairs = load_pairs(_workspace(tmp_path)).set_index("output_id")
    assert sorted(pairs.index) == ["r0", "r1", "r5", "t2", "t3"]
    assert pairs.loc["t3", "source_text"] == "Buses should run every ten minutes.\nParks must stay open at night."
    assert pairs.loc["t3", "source_ids"] == ["c3", "c4"]
    assert pairs.loc["t3", "language_pair"] == "en->de"
    assert pairs.loc["r0", "language_pair"] == "en->en"
    assert pairs.loc["t2", "country"] == "US"
    assert len(pairs.loc["t3", "contributors"]) == 2


def _score(ws: Workspace, debate_id: str, embedder: object, **options: object) -> FidelityRun:
    """The fidelity run of one debate through the stage's entry point, with ``options`` as its params."""
    info = run(ws, debate_id=debate_id, params=FidelityParams(**options), models=StageModels(embedder=embedder))
    return info.details


def test_fidelity_run_writes_a_run_with_exact_flags(tmp_path):
    ws = _workspace(tmp_path)
    runs = [_score(ws, "town", _fake(), n_resamples=100, n_permutations=200)]
    assert len(runs) == 1 and runs[0].info.stage == "fidelity" and runs[0].info.debate_id == "town"
    info = list_runs(ws, stage="fidelity")[0]
    assert info.manifest["params"]["stance_scored"] is False
    assert info.manifest["params"]["note"] == NO_STANCE_NOTE
    pairs = read_run_table(ws, info.run_id, "pairs").set_index("output_id")
    # every output shares its source's topic: closer to it than to any other contribution
    assert pairs["similarity_percentile"].tolist() == [100.0] * 5
    assert pairs.loc["t3", "n_null"] == 5 and pairs.loc["r0", "n_null"] == 6
    assert pairs["stance_flip"].isna().all() and pairs["entailment_min"].isna().all()
    flags = read_run_table(ws, info.run_id, "flags")
    got = {(r.output_id, r.kind, tuple(r.words)) for r in flags.itertuples()}
    # "not" governs "build": the concept *exist* turns negative (scope, not count)
    assert ("r0", "polarity_flipped", ("build", "not")) in got
    assert ("r1", "number_changed", ("40", "50")) in got
    assert ("r1", "entity_dropped", ("Main", "Street")) in got
    assert not any(o in {"t2", "t3", "r5"} for o, _, _ in got)
    assert pairs.loc["r0", "review_score"] == 0.5 and pairs.loc["r5", "review_score"] == 0.0
    agg = read_run_table(ws, info.run_id, "aggregates")
    overall = agg[(agg.dimension == "all") & (agg.metric == "lexical_stance_flip")].iloc[0]
    assert overall.n == 5 and overall.n_contributors == 6 and overall["mean"] == pytest.approx(0.2)
    de = agg[(agg.dimension == "language_pair") & (agg.value == "en->de")].iloc[0]
    assert bool(de.suppressed) and np.isnan(de["mean"])
    view = fidelity_json(runs)
    r0 = next(o for o in view["outputs"] if o["output_id"] == "r0")
    assert [(f["kind"], f["words"]) for f in r0["flags"]] == [("polarity_flipped", ["build", "not"])]
    assert r0["model"] == "m" and r0["output_language"] == "en" and r0["lexical_stance_flip"] == 1.0
    assert r0["source_ids"] == ["c0"] and r0["similarity_percentile"] == 100.0 and "stance_flip" not in r0
    assert view["note"] == NO_STANCE_NOTE and any(a["dimension"] == "language_pair" for a in view["aggregates"])


def test_output_language_is_detected_and_a_mismatch_is_flagged(tmp_path):
    ws = Workspace.resolve(tmp_path / "ws")
    rows = [
        {"id": "f1", "text": "Il faut interdire les pesticides dans les jardins publics.", "language": "fr",
         "country": "FR", "theme": "nature"},
        {"id": "f2", "text": "Il faut plus de pistes cyclables entre les villages.", "language": "fr",
         "country": "FR", "theme": "transport"},
        {"id": "z1", "text": "我們應該禁止汽車進入市中心", "language": "zh-Hant", "country": "TW", "theme": "transport"},
    ]  # fmt: skip
    ingest_contributions(ws, write(tmp_path / "c.jsonl", "\n".join(map(json.dumps, rows)) + "\n"), debate_id="mix")
    outputs = [
        # asked for German, answered in English: read as English (no false stance flag), flagged as a mismatch
        {"output_id": "t1", "task": "translation", "target_language": "de", "source_ids": ["f1"],
         "text": "We must ban pesticides in public gardens."},
        # a faithful "Il faut" -> "We must" translation raises nothing
        {"output_id": "t2", "task": "translation", "target_language": "en", "source_ids": ["f2"],
         "text": "We must have more cycle paths between the villages."},
        # a reformulation of a Chinese contribution written in English: stance is not checked, and says so
        {"output_id": "r3", "task": "reformulation", "source_ids": ["z1"],
         "text": "We should allow cars in the city centre."},
    ]  # fmt: skip
    text = "\n".join(json.dumps({"debate_id": "mix", "model": "m", **o}) for o in outputs) + "\n"
    ingest_outputs(ws, write(tmp_path / "o.jsonl", text))
    pairs = load_pairs(ws, group_by=["theme"]).set_index("output_id")
    assert pairs["output_language"].to_dict() == {"t1": "en", "t2": "en", "r3": "en"}
    assert pairs["target_language"].to_dict() == {"t1": "de", "t2": "en", "r3": "zh"}
    assert pairs["theme"].to_dict() == {"t1": "nature", "t2": "transport", "r3": "transport"}
    runs = [_score(ws, "mix", FakeEmbedder(), group_by=("theme",), min_cell=1, n_resamples=50, n_permutations=50)]
    scored = runs[0].pairs.set_index("output_id")
    flags = runs[0].flags
    # the reformulation of a Chinese contribution came back in English: a mismatch too
    assert sorted((r.output_id, r.kind) for r in flags.itertuples()) == [
        ("r3", "language_mismatch"),
        ("t1", "language_mismatch"),
    ]
    assert scored.loc["t1", "lexical_stance_flip"] == 0.0 and scored.loc["t2", "lexical_stance_flip"] == 0.0
    assert not scored.loc["r3", "stance_checked"] and np.isnan(scored.loc["r3", "lexical_stance_flip"])
    assert scored.loc["r3", "stance_note"] == "stance not checked for zh"
    view = fidelity_json(runs)
    assert next(o for o in view["outputs"] if o["output_id"] == "r3")["stance_note"] == "stance not checked for zh"
    cells = {(c["model"], c["language_pair"], c["country"]) for c in view["country_language"]}
    assert cells == {("m", "fr->de", "FR"), ("m", "fr->en", "FR"), ("m", "zh->zh", "TW")}
    assert any(a["dimension"] == "theme" for a in view["aggregates"])
    assert {t["dimension"] for t in view["tests"]} >= {"theme", "language_pair"}
    with pytest.raises(DembiasError, match="no source metadata key 'nope'"):
        load_pairs(ws, group_by=["nope"])
    with pytest.raises(DembiasError, match="already a column"):
        load_pairs(ws, group_by=["country"])
    # the stage takes a dimension it already has as itself (no second column)
    again = _score(ws, "mix", FakeEmbedder(), group_by=("country",), min_cell=1, n_resamples=20, n_permutations=20)
    assert again.info.manifest["params"]["group_by"] == []


def test_fidelity_run_with_tiny_nli_model(tmp_path):
    ws = _workspace(tmp_path)
    runs = [_score(ws, "town", _fake(), nli_model=str(_tiny_nli(tmp_path)), n_resamples=50, n_permutations=50)]
    pairs = runs[0].pairs
    assert pairs["stance_scored"].all() and pairs["entailment_min"].between(0, 1).all()
    assert runs[0].info.manifest["params"]["note"] is None
    record = fidelity_json(runs)["outputs"][0]
    assert {"entailment_min", "stance_flip"} <= set(record)


def test_fidelity_job_scores_through_the_stage_with_the_job_models(tmp_path):
    """A rescoring job lands one run through the entry point: the numbers of the stage, the job's manifest."""
    from dembias import jobs

    ws = _workspace(tmp_path)
    job = jobs.submit_job(ws, stage="fidelity", debate_id="town", params={"embedder": "fake"})
    (done,) = jobs.run_worker(ws, once=True)
    assert done.job_id == job.job_id and done.status == "done", done.error
    (run_id,) = done.result["run_ids"]
    manifest = json.loads((ws.runs_dir / f"{run_id}.json").read_text())
    assert manifest["job_id"] == job.job_id and manifest["rescores"] is None
    assert manifest["params"]["embedder"] == "fake" and manifest["params"]["embedder_spec"] == "fake"
    direct = _score(ws, "town", FakeEmbedder())
    pd.testing.assert_frame_equal(read_run_table(ws, run_id, "pairs"), read_run_table(ws, direct.info.run_id, "pairs"))


def test_no_rewrites_is_a_clear_error_and_demo_stage_skips(tmp_path):
    ws = Workspace.resolve(tmp_path / "ws")
    ingest_contributions(ws, write(tmp_path / "c.csv", "id,text\n1,Hello there\n"), debate_id="d", language="en")
    with pytest.raises(NothingToDo, match="no reformulation or translation outputs to score in debate 'd'"):
        _score(ws, "d", _fake())
    messages = []
    demo_stage(ws, {}, messages.append)
    assert "skipped" in messages[0] and list_runs(ws, stage="fidelity") == []


# --------------------------------------------------------------------------------------------------
# command line


def test_cli_score_fidelity_json(tmp_path):
    from typer.testing import CliRunner

    from dembias.cli import app

    ws = _workspace(tmp_path)
    result = CliRunner().invoke(
        app, ["score", "fidelity", "-w", str(ws.root), "--embedder", "fake", "--json", "--n-null", "50"]
    )
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    by_id = {o["output_id"]: o for o in view["outputs"]}
    assert set(by_id) == {"r0", "r1", "r5", "t2", "t3"}
    assert by_id["t3"]["source_ids"] == ["c3", "c4"] and by_id["t3"]["target_language"] == "de"
    assert [(f["kind"], f["words"]) for f in by_id["r0"]["flags"]] == [("polarity_flipped", ["build", "not"])]
    assert all(o["model"] == "m" for o in view["outputs"])
    assert {"tests", "country_language"} <= set(view)
    assert {"similarity", "similarity_percentile", "task", "source_language"} <= set(by_id["r0"])
    assert view["aggregates"] and view["note"] == NO_STANCE_NOTE
    text = CliRunner().invoke(app, ["score", "fidelity", "-w", str(ws.root), "--embedder", "fake"])
    assert text.exit_code == 0 and "town: 5 rewrites" in text.stdout and "note: stance not scored" in text.stdout


def test_languages_without_lexicons_are_named_in_the_run_warnings(tmp_path, monkeypatch):
    import dembias.fidelity.stage as fs

    ws = _workspace(tmp_path)
    monkeypatch.setattr(fs, "SUPPORTED_LANGUAGES", ("en", "fr"))  # as if German had no lexicons
    runs = [_score(ws, "town", _fake(), n_resamples=50, n_permutations=50)]
    warnings = runs[0].info.manifest["warnings"]
    assert any("not checked for de" in w for w in warnings)
