"""Sentence splitting by pysbd: abbreviations stay inside sentences, in every supported language."""

from __future__ import annotations

import pytest

from dembias.ingest.outputs import units_from_text
from dembias.ingest.sentences import split_sentences, splitter_language


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        (
            "The U.S. economy grew, e.g. in Ohio. Dr. Smith agreed.",
            "en",
            ["The U.S. economy grew, e.g. in Ohio.", "Dr. Smith agreed."],
        ),
        ("M. Dupont est venu. Il a dit non.", "fr", ["M. Dupont est venu.", "Il a dit non."]),
        ("Dr. Müller sagt z. B. nein. Das ist gut.", "de", ["Dr. Müller sagt z. B. nein.", "Das ist gut."]),
        ("Il sig. Rossi è d'accordo. Noi no.", "it", ["Il sig. Rossi è d'accordo.", "Noi no."]),
        ("El Dr. García votó a favor. Nosotros no.", "es", ["El Dr. García votó a favor.", "Nosotros no."]),
        ("我们支持。你呢？好的！", "zh", ["我们支持。", "你呢？", "好的！"]),
    ],
)
def test_abbreviations_do_not_end_sentences(text, language, expected):
    assert split_sentences(text, language=language) == expected


def test_language_detected_when_not_given():
    assert splitter_language("Die Regierung muss mehr für das Klima tun, sagt die Mehrheit.") == "de"
    assert splitter_language("x", "zh-Hant") == "zh"


def test_lines_bullets_and_numbering():
    assert split_sentences("First point. Second point!\n\n- a bullet\n- another") == [
        "First point.",
        "Second point!",
        "- a bullet",
        "- another",
    ]
    # a numbering segment ("1.") has no word of its own: it stays with its line
    assert split_sentences("[12] 1. HiveMind - Freshwater Quality\n[13] 2. HiveMind - Freshwater Quality") == [
        "[12] 1. HiveMind - Freshwater Quality",
        "[13] 2. HiveMind - Freshwater Quality",
    ]


def test_citation_after_full_stop_belongs_to_the_sentence_before():
    units = units_from_text("Taxes are too high. [7] Roads need work [3].", task="summary", inline_citations=True)
    assert [(u.text, u.citations) for u in units] == [("Taxes are too high.", ["7"]), ("Roads need work.", ["3"])]
