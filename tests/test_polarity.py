"""Polarity concepts aligned across languages, negation by scope, and the hand-made validation set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dembias.fidelity.lexical import lexical_flags
from dembias.fidelity.polarity import (
    LEXICON,
    POLARITY_LANGUAGES,
    not_checked_note,
    polarity_marks,
    stance_checked,
    stance_flags,
)

VALIDATION = Path(__file__).parent / "data" / "stance_validation.jsonl"


def flags(source: str, output: str, src: str, tgt: str) -> list[tuple[str, list[str]]]:
    return [(f.kind, f.words) for f in stance_flags(source, output, source_lang=src, target_lang=tgt)]


def test_every_concept_has_both_poles_in_every_language():
    for concept, langs in LEXICON.items():
        assert set(langs) == set(POLARITY_LANGUAGES), concept
        for lang, poles in langs.items():
            assert poles[1] and poles[-1], (concept, lang)


@pytest.mark.parametrize(
    ("src", "tgt", "source", "output", "expected"),
    [
        # antonyms across languages: the concept ids align the two lexicons
        ("fr", "en", "Il faut autoriser les vélos sur les trottoirs.", "We must ban bikes on pavements.", [("polarity_flipped", ["autoriser", "ban"])]),
        ("en", "de", "We need more buses.", "Wir brauchen weniger Busse.", [("polarity_flipped", ["more", "weniger"])]),
        ("de", "it", "Die Mieten müssen gesenkt werden.", "Gli affitti devono essere aumentati.", [("polarity_flipped", ["gesenkt", "aumentati"])]),
        ("es", "fr", "Estamos a favor del peaje urbano.", "Nous sommes contre le péage urbain.", [("polarity_flipped", ["a favor", "contre"])]),
        ("it", "es", "Pasti senza carne nelle scuole.", "Comidas con carne en las escuelas.", [("polarity_flipped", ["senza", "con"])]),
        ("en", "fr", "We must protect the forest.", "Il faut détruire la forêt.", [("polarity_flipped", ["protect", "détruire"])]),
        # equivalents are not flags, whatever the modal formula
        ("fr", "en", "Il faut interdire les pesticides.", "We must ban pesticides.", []),
        ("fr", "de", "Il faut interdire les pesticides.", "Wir müssen Pestizide verbieten.", []),
        ("fr", "it", "Il faut réduire les impôts.", "Bisogna ridurre le tasse.", []),
        ("fr", "es", "Il faut plus de crèches.", "Hay que crear más guarderías.", []),
        # "fermes" are farms, not "fermées" (closed): keeping the farms is not closing anything
        ("fr", "en", "Il faut fermer les usines et protéger les fermes.", "We must close the factories and protect the farms.", []),
        # a negation that scopes over a mark turns its pole: "not allow" = "ban", "not more" = "less"
        ("en", "fr", "We must ban cars.", "Il ne faut pas autoriser les voitures.", []),
        ("de", "en", "Wir brauchen weniger Autos.", "We do not need more cars.", []),
        ("en", "en", "We must ban cars.", "We must not ban cars.", [("polarity_flipped", ["ban", "not"])]),
        ("en", "de", "Meals without meat.", "Nicht ohne Fleisch.", [("polarity_flipped", ["without", "nicht", "ohne"])]),
        # German "nicht" after the verb scopes back over it
        ("en", "de", "I support the plan.", "Ich unterstütze den Plan nicht.", [("polarity_flipped", ["support", "nicht", "unterstütze"])]),
        # a negative determiner after its verb governs it: "allow no advertising" = "keine Werbung erlauben"
        ("de", "en", "Keine Werbung an Haushalte erlauben.", "Allow no advertising to households.", []),
        # "no longer" is not "more": "ne ... plus", "nicht mehr", "non ... più"
        ("fr", "en", "Il ne faut plus taxer le travail.", "We must no longer tax work.", []),
        # a free negation is compared in its sentence
        ("en", "en", "We pay. They pay.", "We pay. They do not pay.", [("negation_added", ["not"])]),
        ("en", "en", "We do not pay. They pay.", "We pay. They do not pay.", [("negation_removed", ["not"]), ("negation_added", ["not"])]),
        ("en", "fr", "We do not pay the tax.", "Nous ne payons pas la taxe.", []),
        # a negation on a concept the source does not mention is compared as a free negation
        ("de", "en", "Wir müssen eine offene Datenpolitik haben.", "We must not have an open data policy.", [("negation_added", ["not"])]),
    ],
)  # fmt: skip
def test_stance_flags(src, tgt, source, output, expected):
    assert flags(source, output, src, tgt) == expected


def test_amount_words_count_only_where_they_quantify():
    def amounts(text: str, lang: str) -> list[str]:
        return [m.words for m in polarity_marks(text, language=lang) if m.concept == "amount"]

    assert amounts("Il faut plus de bus et des arrêts plus sûrs.", "fr") == ["plus"]
    assert amounts("Il faut au moins dix bus, plus ou moins.", "fr") == []
    assert amounts("We need more or less the same, not the most.", "en") == []
    assert amounts("Wir brauchen nicht mehr Autos, sondern weniger.", "de") == ["weniger"]
    assert amounts("Servono più autobus, non più auto.", "it") == ["più"]
    assert amounts("Queremos al menos más autobuses.", "es") == ["más"]


def test_unsupported_languages_are_not_checked_and_say_so():
    assert not stance_checked("zh", "en")
    assert stance_checked("fr-FR", "de")
    assert flags("我们应该禁止汽车", "We must allow cars.", "zh", "en") == []
    assert not_checked_note("zh-Hant", "en") == "stance not checked for zh"
    assert not_checked_note("en", "fr") is None


def test_modal_verbs_of_obligation_raise_nothing_across_languages():
    sources = {
        "fr": "Il faut investir dans les formations.",
        "en": "We must invest in training.",
        "de": "Wir müssen in die Ausbildung investieren.",
        "it": "Bisogna investire nella formazione.",
        "es": "Hay que invertir en la formación.",
    }
    for a, x in sources.items():
        for b, y in sources.items():
            assert lexical_flags(x, y, source_lang=a, target_lang=b) == [], (a, b)


def _validation_rates(split: str) -> dict[str, tuple[int, int]]:
    items = [json.loads(line) for line in VALIDATION.read_text(encoding="utf-8").splitlines()]
    counts: dict[str, list[int]] = {"faithful": [0, 0], "negated": [0, 0], "antonym": [0, 0]}
    for item in (i for i in items if i["split"] == split):
        for a in POLARITY_LANGUAGES:
            source = item["versions"][a]["faithful"]
            for b in POLARITY_LANGUAGES:
                version = item["versions"][b]
                outputs = {
                    "faithful": version["paraphrase" if a == b else "faithful"],
                    "negated": version["negated"],
                    "antonym": version["antonym"],
                }
                for kind, output in outputs.items():
                    flagged = bool(stance_flags(source, output, source_lang=a, target_lang=b))
                    counts[kind][0] += flagged
                    counts[kind][1] += 1
    return {k: (v[0], v[1]) for k, v in counts.items()}


@pytest.mark.parametrize("split", ["dev", "test"])
def test_validation_set_detection_and_false_flags(split):
    rates = _validation_rates(split)
    # 7 proposals x 25 language pairs per split; floors, not exact counts, so a lexicon change is free to
    # improve them; the benchmark prints them per pair (benchmarks/stance_validation.py)
    assert rates["faithful"][1] == rates["negated"][1] == rates["antonym"][1] == 175
    assert rates["faithful"][0] / 175 <= 0.05
    assert rates["negated"][0] / 175 >= 0.9
    assert rates["antonym"][0] / 175 >= 0.9
