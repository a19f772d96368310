"""Highlighting flagged words never turns user text into markup."""

from __future__ import annotations

from dembias.read.highlight import highlight_words


def test_whole_words_case_insensitive():
    assert highlight_words("We do NOT want this. Nothing else.", ["not"]) == (
        'We do <mark class="flag">NOT</mark> want this. Nothing else.'
    )


def test_user_markup_stays_text():
    payload = '<img src=x onerror="alert(1)"> kein Problem <script>alert(2)</script>'
    out = highlight_words(payload, ["kein", "<script>"])
    assert "<img" not in out and "<script>" not in out
    assert out.startswith("&lt;img src=x onerror=&quot;alert(1)&quot;&gt; ")
    assert '<mark class="flag">kein</mark>' in out
    assert highlight_words("a & b", []) == "a &amp; b"


def test_multiword_and_accents():
    assert highlight_words("Il ne faut pas ça", ["ne", "pas"]) == (
        'Il <mark class="flag">ne</mark> faut <mark class="flag">pas</mark> ça'
    )
    assert highlight_words("naïve naïveté", ["naïve"]) == '<mark class="flag">naïve</mark> naïveté'
