"""Lexical flags: exact flags (kind and words) for each rule in each of the five languages."""

from __future__ import annotations

import pytest

from dembias.fidelity.lexical import entities, lexical_flags, negations, numbers, tokenize


def kinds_words(source: str, output: str, src: str, tgt: str) -> list[tuple[str, list[str]]]:
    return [(f.kind, f.words) for f in lexical_flags(source, output, source_lang=src, target_lang=tgt)]


# --------------------------------------------------------------------------------------------------
# negation, same language


@pytest.mark.parametrize(
    ("lang", "source", "output", "expected"),
    [
        ("fr", "Nous devons construire des pistes cyclables.", "Nous ne devons pas construire des pistes cyclables.", [("polarity_flipped", ["construire", "ne ... pas"])]),
        ("fr", "Il faut taxer les entreprises.", "Il ne faut jamais taxer les entreprises.", [("negation_added", ["ne ... jamais"])]),
        ("fr", "Ce n'est plus possible.", "C'est possible.", [("negation_removed", ["n' ... plus"])]),
        ("fr", "Aucun impôt supplémentaire.", "Un impôt supplémentaire.", [("polarity_flipped", ["aucun", "supplémentaire"])]),
        ("fr", "Je dis non à la taxe.", "Je dis oui à la taxe.", [("negation_removed", ["non"])]),
        ("fr", "Il ne reste rien à faire.", "Il reste à faire.", [("negation_removed", ["ne ... rien"])]),
        ("de", "Wir brauchen mehr Radwege.", "Wir brauchen nicht mehr Radwege.", [("negation_added", ["nicht"])]),
        ("de", "Wir brauchen neue Radwege.", "Wir brauchen keine neuen Radwege.", [("negation_added", ["keine"])]),
        ("de", "Das darf nie passieren.", "Das darf passieren.", [("negation_removed", ["nie"])]),
        ("de", "Wir wollen keinen Flughafen.", "Wir wollen einen Flughafen.", [("negation_removed", ["keinen"])]),
        ("en", "We should build bike lanes.", "We should not build bike lanes.", [("polarity_flipped", ["build", "not"])]),
        ("en", "We should build bike lanes.", "We shouldn't build bike lanes.", [("polarity_flipped", ["build", "shouldn't"])]),
        ("en", "There is no money for this.", "There is money for this.", [("negation_removed", ["no"])]),
        ("en", "Taxes should never rise.", "Taxes should rise.", [("negation_removed", ["never"])]),
        ("it", "Dobbiamo costruire piste ciclabili.", "Non dobbiamo costruire piste ciclabili.", [("polarity_flipped", ["costruire", "non"])]),
        ("it", "Lo faremo.", "Non lo faremo mai.", [("negation_added", ["non ... mai"])]),
        ("it", "Nessuno vuole la tassa.", "Tutti vogliono la tassa.", [("negation_removed", ["nessuno"])]),
        ("es", "Queremos más carriles bici.", "No queremos más carriles bici.", [("polarity_flipped", ["más", "no"])]),
        ("es", "Lo haremos.", "Nunca lo haremos.", [("negation_added", ["nunca"])]),
        ("es", "No hay ningún problema.", "Hay un problema.", [("negation_removed", ["no ... ningún"])]),
    ],
)  # fmt: skip
def test_negation_same_language(lang, source, output, expected):
    assert kinds_words(source, output, lang, lang) == expected


def test_negation_unchanged_raises_nothing():
    # "must" for "should" is neither a negation change nor an intensifier
    assert kinds_words("We should not build it.", "We must not build it.", "en", "en") == []
    assert kinds_words("Ne touchez pas à la forêt.", "Ne coupez pas la forêt.", "fr", "fr") == []


def test_negation_counting_rules():
    # concord counts once; "plus" and "personne" alone are not negations in French
    assert negations("Je ne veux plus jamais voir ça.", language="fr") == ["ne ... plus", "jamais"]
    assert negations("Il y a plus de personnes.", language="fr") == []
    assert negations("C'est pas juste.", language="fr") == ["pas"]
    assert negations("Non lo farò mai.", language="it") == ["non ... mai"]
    assert negations("No quiero nada.", language="es") == ["no ... nada"]
    assert negations("I don't think we can't, it's not", language="en") == ["don't", "can't", "not"]
    assert negations("Weder Autos noch Busse, nichts.", language="de") == ["weder", "nichts"]
    assert negations("没有", language="zh") == []


# --------------------------------------------------------------------------------------------------
# negation across languages: each side with its own list


@pytest.mark.parametrize(
    ("src", "tgt", "source", "output", "expected"),
    [
        ("en", "fr", "We should build bike lanes.", "Nous ne devons pas construire de pistes cyclables.", [("polarity_flipped", ["build", "ne ... pas", "construire"])]),
        ("en", "fr", "We should not build bike lanes.", "Nous ne devons pas construire de pistes cyclables.", []),
        ("en", "de", "We should not build bike lanes.", "Wir sollten Radwege bauen.", [("polarity_flipped", ["not", "build", "bauen"])]),
        ("en", "de", "We need no new airport.", "Wir brauchen keinen neuen Flughafen.", []),
        ("de", "it", "Wir brauchen keinen Flughafen.", "Abbiamo bisogno di un aeroporto.", [("negation_removed", ["keinen"])]),
        ("it", "en", "Non lo farò mai.", "I will never do it.", []),
        ("es", "en", "Nunca lo haremos.", "We will do it.", [("negation_removed", ["nunca"])]),
        ("en", "es", "We will do it.", "No lo haremos.", [("negation_added", ["no"])]),
    ],
)  # fmt: skip
def test_negation_cross_language(src, tgt, source, output, expected):
    assert kinds_words(source, output, src, tgt) == expected


# --------------------------------------------------------------------------------------------------
# numbers


@pytest.mark.parametrize(
    ("src", "tgt", "source", "output", "expected"),
    [
        ("en", "en", "Build 40 new homes by 2030.", "Build new homes by 2030.", [("number_dropped", ["40"])]),
        ("en", "en", "Build 40 new homes.", "Build 45 new homes.", [("number_changed", ["40", "45"])]),
        ("en", "en", "Build new homes.", "Build 45 new homes.", [("number_added", ["45"])]),
        ("en", "fr", "It costs 1,500 dollars, or 2.5%.", "Cela coûte 1 500 dollars, soit 2,5 %.", []),
        ("en", "de", "It costs 1,500 euros.", "Es kostet 1.500 Euro.", []),
        ("en", "de", "Four steps.", "Vier Schritte.", []),
        ("en", "fr", "Four steps.", "Cinq étapes.", [("number_changed", ["Four", "Cinq"])]),
        ("fr", "fr", "Trois lignes de bus.", "Des lignes de bus.", [("number_dropped", ["Trois"])]),
        ("de", "de", "Zehn Prozent weniger.", "Zwanzig Prozent weniger.", [("number_changed", ["Zehn", "Zwanzig"])]),
        ("it", "it", "Tre linee di autobus.", "Linee di autobus.", [("number_dropped", ["Tre"])]),
        ("es", "es", "Dos líneas de autobús.", "Cuatro líneas de autobús.", [("number_changed", ["Dos", "Cuatro"])]),
    ],
)  # fmt: skip
def test_number_flags(src, tgt, source, output, expected):
    assert kinds_words(source, output, src, tgt) == expected


def test_number_values():
    assert [v for _, v in numbers("1,500 and 1.500 and 2,5 and 1 000 000 and 40%", language="en")] == [
        1500.0,
        1500.0,
        2.5,
        1_000_000.0,
        40.0,
    ]
    assert numbers("un deux", language="fr") == [("deux", 2.0)]  # "un" is the article, not one


# --------------------------------------------------------------------------------------------------
# named entities


@pytest.mark.parametrize(
    ("src", "tgt", "source", "output", "expected"),
    [
        ("en", "en", "The mayor of Bowling Green should fund it.", "The mayor should fund it.", [("entity_dropped", ["Bowling", "Green"])]),
        ("en", "en", "Ask the EU for money.", "Ask for money.", [("entity_dropped", ["EU"])]),
        ("en", "fr", "Europe should act.", "L'Europa devrait agir.", []),
        ("en", "it", "We trust Vienna.", "Ci fidiamo di Vienne.", []),
        ("en", "fr", "We trust Warren County.", "Nous faisons confiance au comté.", [("entity_dropped", ["Warren", "County"])]),
        ("fr", "fr", "Il faut écouter Greta Thunberg.", "Il faut écouter.", [("entity_dropped", ["Greta", "Thunberg"])]),
        ("de", "de", "Die Bahn und die ÖBB sollen mehr Züge fahren.", "Die Bahn soll mehr Züge fahren.", [("entity_dropped", ["ÖBB"])]),
        ("it", "it", "Chiediamo aiuto a Roma.", "Chiediamo aiuto.", [("entity_dropped", ["Roma"])]),
        ("es", "es", "Pedimos ayuda a Madrid.", "Pedimos ayuda.", [("entity_dropped", ["Madrid"])]),
    ],
)  # fmt: skip
def test_entity_flags(src, tgt, source, output, expected):
    assert kinds_words(source, output, src, tgt) == expected


def test_entity_heuristic_skips_sentence_starts_and_german_nouns():
    assert entities("Taxes are high. Housing too. I agree with Anna.", language="en") == ["Anna"]
    assert entities("1. Replace the benefit\n2. Index it by BINZ", language="en") == ["BINZ"]
    assert entities("Wir brauchen mehr Radwege und CO2-Steuern von der EU.", language="de") == ["CO2-Steuern", "EU"]
    # a capital right after a hyphen only starts the next noun of a compound
    assert entities("Wir müssen Start-up-Unternehmen und Skills-Sponsoring der BayWa fördern.", language="de") == [
        "BayWa"
    ]
    assert [t.lower for t in tokenize("Ce n'est pas l'eau.", language="fr")] == ["ce", "n'", "est", "pas", "l'", "eau"]


# --------------------------------------------------------------------------------------------------
# hedges, intensifiers, opposition, length


@pytest.mark.parametrize(
    ("src", "tgt", "source", "output", "expected"),
    [
        ("en", "en", "Maybe we should tax cars.", "We should tax cars.", [("hedge_removed", ["maybe"])]),
        ("en", "en", "We should tax cars.", "We should absolutely tax cars.", [("intensifier_added", ["absolutely"])]),
        ("en", "en", "In my opinion we should tax cars.", "We should tax cars.", [("hedge_removed", ["in my opinion"])]),
        ("fr", "fr", "Il faudrait peut-être taxer les voitures.", "Il faudrait taxer les voitures.", [("hedge_removed", ["peut-être"])]),
        ("fr", "fr", "Il faut taxer les voitures.", "Il faut vraiment taxer les voitures.", [("intensifier_added", ["vraiment"])]),
        ("de", "de", "Vielleicht sollten wir Autos besteuern.", "Wir sollten Autos besteuern.", [("hedge_removed", ["vielleicht"])]),
        ("de", "de", "Wir sollten Autos besteuern.", "Wir müssen Autos unbedingt besteuern.", [("intensifier_added", ["unbedingt"])]),
        ("it", "it", "Forse dovremmo tassare le auto.", "Dovremmo tassare le auto.", [("hedge_removed", ["forse"])]),
        ("it", "it", "Dovremmo tassare le auto.", "Dovremmo davvero tassare le auto.", [("intensifier_added", ["davvero"])]),
        ("es", "es", "Tal vez deberíamos gravar los coches.", "Deberíamos gravar los coches.", [("hedge_removed", ["tal vez"])]),
        ("es", "es", "Deberíamos gravar los coches.", "Deberíamos gravar muy bien los coches.", [("intensifier_added", ["muy"])]),
        ("en", "fr", "Maybe we should tax cars.", "Nous devrions taxer les voitures.", [("hedge_removed", ["maybe"])]),
        ("en", "en", "We support the tax.", "We are against the tax.", [("polarity_flipped", ["support", "against"])]),
        ("en", "de", "We are against the tax.", "Wir sind gegen die Steuer.", []),
        ("fr", "es", "Nous sommes contre la taxe.", "Apoyamos el impuesto.", [("polarity_flipped", ["contre", "Apoyamos"])]),
        ("it", "it", "Siamo contro la tassa.", "Sosteniamo la tassa.", [("polarity_flipped", ["contro", "Sosteniamo"])]),
    ],
)  # fmt: skip
def test_marker_flags(src, tgt, source, output, expected):
    assert kinds_words(source, output, src, tgt) == expected


def test_same_count_different_words_reports_both():
    assert kinds_words("Maybe we tax cars.", "Perhaps we tax cars.", "en", "en") == [
        ("hedge_added", ["perhaps"]),
        ("hedge_removed", ["maybe"]),
    ]


def test_length_ratio_flag_and_detail():
    flags = lexical_flags("a" * 100, "a" * 30, source_lang="en", target_lang="en")
    assert [(f.kind, f.words) for f in flags] == [("length_ratio", [])]
    assert "0.30 times" in flags[0].detail
    assert lexical_flags("a" * 100, "a" * 50, source_lang="en", target_lang="en") == []
    assert [f.kind for f in lexical_flags("a" * 10, "a" * 21, source_lang="en", target_lang="en")] == ["length_ratio"]


def test_unsupported_language_gets_numbers_and_length_only():
    assert kinds_words("我们不应该建造3条路", "我们应该建造4条路", "zh", "zh") == [("number_changed", ["3", "4"])]
    assert kinds_words("We should build it.", "我们应该建造", "en", "zh-Hant") == []


def test_detail_names_the_concept_and_both_sides():
    (flag,) = lexical_flags(
        "We build the lanes.", "Nous ne construisons pas les pistes.", source_lang="en", target_lang="fr"
    )
    assert flag.kind == "polarity_flipped"
    assert flag.detail == "exist: source says 'build' (positive), output says 'ne ... pas + construisons' (negative)"


def test_free_negation_detail_names_its_scope():
    (flag,) = lexical_flags("We pay the lanes.", "We do not pay the lanes.", source_lang="en", target_lang="en")
    assert (flag.kind, flag.words) == ("negation_added", ["not"])
    assert flag.detail == "output negates sentence 1: not (before 'pay'); the other side does not"


def test_marker_words_come_in_text_order_whatever_the_hash_seed():
    """Phrases and single words are reported as they appear, the same in every process (PYTHONHASHSEED)."""
    import os
    import subprocess
    import sys

    code = (
        "from dembias.fidelity.lexical import HEDGES, INTENSIFIERS, marker_words;"
        "t='Perhaps this is very much needed; I think it is extremely important, in my opinion.';"
        "print(marker_words(t, language='en', lexicon=HEDGES), marker_words(t, language='en', lexicon=INTENSIFIERS))"
    )
    answers = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
        ).stdout
        for seed in (0, 1, 2, 3, 4, 5)
    }
    assert len(answers) == 1, answers
    assert answers.pop().split("] [")[0] == "['perhaps', 'i think', 'in my opinion'"
