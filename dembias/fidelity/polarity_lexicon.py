"""The stance lexicons as tables: polarity concepts per language and pole, and the words that decide
whether "more"/"less" quantify or a clause ends; read once from ``resources/<lang>.json``.

:mod:`dembias.fidelity.polarity` uses these tables to find marks and flips; the module docstring there says
what the entries mean.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from dembias.fidelity.word_lists import word_lists

#: Languages whose stance marks are checked (lexicons in ``resources/<lang>.json``, negation rules in
#: :mod:`dembias.fidelity.lexical`).
POLARITY_LANGUAGES = ("en", "fr", "de", "it", "es")


def fold(word: str) -> str:
    """Lowercase without accents (and ``ß`` as ``ss``): the form lexicon entries are written in."""
    decomposed = unicodedata.normalize("NFKD", word.lower().replace("ß", "ss"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


#: The polarity concepts, in the order of the first language's file (every language has the same).
_CONCEPTS: tuple[str, ...] = tuple(word_lists(POLARITY_LANGUAGES[0])["polarity"])

#: concept -> language -> pole (+1 / -1) -> entries (folded)
LEXICON: dict[str, dict[str, dict[int, tuple[str, ...]]]] = {
    concept: {
        lang: {
            pole: tuple(fold(e) for e in word_lists(lang)["polarity"][concept][name])
            for pole, name in ((1, "positive"), (-1, "negative"))
        }
        for lang in POLARITY_LANGUAGES
    }
    for concept in _CONCEPTS
}


def _per_language(key: str) -> dict[str, frozenset[str]]:
    return {lang: frozenset(word_lists(lang)[key]) for lang in POLARITY_LANGUAGES}


#: Words that a prefix entry would catch but that are not polarity marks (folded). French "ferme(s)" is left
#: out of the lists on purpose: without accents "fermé" (closed) is "ferme" (farm), frequent in proposals.
EXCLUDED: dict[str, frozenset[str]] = _per_language("polarity_excluded")

#: The words "more"/"less" of each language, handled by :func:`dembias.fidelity.polarity._amount_word_counts`.
AMOUNT_WORDS: dict[str, tuple[str, ...]] = {
    lang: tuple(word_lists(lang)["amount_words"]) for lang in POLARITY_LANGUAGES
}
#: Two-word phrases in which "more"/"less" is no amount ("at least", "more or less"), as (word, word).
AMOUNT_IDIOMS: dict[str, frozenset[tuple[str, ...]]] = {
    lang: frozenset(tuple(idiom.split(" ")) for idiom in word_lists(lang)["amount_idioms"])
    for lang in POLARITY_LANGUAGES
}
NEGATING_BEFORE_MORE = _per_language("negating_before_more")
SUPERLATIVE_BEFORE = _per_language("superlative_before")
#: Words that open a new clause for negation scope (coordination and contrast) in any of the languages, folded.
CLAUSE_WORDS = frozenset(word for lang in POLARITY_LANGUAGES for word in word_lists(lang)["clause_words"])


def matches_entry(entry: str, word: str) -> bool:
    """Whether ``word`` (folded) matches a lexicon entry: ``word*`` a prefix, ``*word`` a suffix, ``*word*`` a
    substring, else equal."""
    if entry.startswith("*") and entry.endswith("*"):
        return entry[1:-1] in word
    if entry.startswith("*"):
        return word.endswith(entry[1:])
    if entry.endswith("*"):
        return word.startswith(entry[:-1])
    return word == entry


def _entries(lang: str) -> list[tuple[str, int, str]]:
    """Every lexicon entry of ``lang`` as (concept, pole, entry), in lexicon order."""
    return [(c, pole, e) for c, langs in LEXICON.items() for pole, es in langs[lang].items() for e in es]


#: The phrase entries (with spaces) of each language as (concept, pole, words), longest first (a stable sort:
#: lexicon order among phrases of one length). They match before single words.
PHRASES: dict[str, tuple[tuple[str, int, tuple[str, ...]], ...]] = {
    lang: tuple(
        sorted(((c, pole, tuple(e.split(" "))) for c, pole, e in _entries(lang) if " " in e), key=lambda x: -len(x[2]))
    )
    for lang in POLARITY_LANGUAGES
}
#: The single-word entries of each language as (concept, pole, entry), in lexicon order: the first match wins.
SINGLE_WORDS: dict[str, tuple[tuple[str, int, str], ...]] = {
    lang: tuple(x for x in _entries(lang) if " " not in x[2]) for lang in POLARITY_LANGUAGES
}


@lru_cache(maxsize=1 << 16)
def single_word_entry(lang: str, word: str) -> tuple[str, int] | None:
    """(concept, pole) of the first single-word entry of ``lang`` that ``word`` matches; memoised, as texts
    repeat their words."""
    return next(((c, pole) for c, pole, e in SINGLE_WORDS[lang] if matches_entry(e, word)), None)
