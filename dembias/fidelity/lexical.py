"""Transparent lexical flags on a rewrite (source -> output), for French, German, English, Italian, Spanish.

Every flag is a :class:`Flag` that names the words that raised it, so a reader can check it in a second.
The rules are deliberately simple word lists and regular expressions; the lists of each language are in
``dembias/fidelity/resources/<lang>.json`` (read by :mod:`dembias.fidelity.word_lists`):

* **stance** (``polarity_flipped``, ``negation_added`` / ``negation_removed``), in :mod:`dembias.fidelity.polarity`:
  polarity concepts aligned across the five languages (allow/ban, more/less, support/oppose, with/without,
  keep/abolish, mandatory/voluntary, easier/harder, good/bad), and negations compared by scope: a
  negation that governs a polarity mark turns its pole ("not allow" = "ban"); the others are compared
  sentence by sentence. Each side is read with *its own* language's lists, so a cross-lingual pair
  compares "ne ... pas" in French with "not" in English. Negative concord counts once: French
  ``ne``/``n'`` followed within :data:`CONCORD_WINDOW` tokens by ``pas``, ``jamais``, ``plus``, ``rien``,
  ``personne``, ``aucun``... is one negation ("ne ... pas"); the same for Italian ``non ... mai/nessuno/
  niente`` and Spanish ``no ... nunca/nada/ningún``; French "ne ... que" (only) is not a negation.
  Words that negate only after a head (French ``plus``, ``personne``, ``point``; Italian ``più``,
  ``mica``) do not count alone.
* **numbers** (``number_dropped``, ``number_added``, ``number_changed``): numbers written in digits
  (``1,500``, ``1.500``, ``2,5``, ``40%``) and number words two to twelve (plus tens and hundred,
  thousand) are compared as values. "one" and its equivalents are left out: in four of the five
  languages it is also the indefinite article. A digit group followed by exactly three digits after
  ``,``/``.``/space is read as thousands (``1,500`` = ``1.500`` = 1500), else the separator is a decimal
  point (``2,5`` = ``2.5``).
* **named entities** (``entity_dropped``): capitalised words that do not start a sentence (or a list
  item), plus acronyms such as ``EU`` or ``CO2`` anywhere; in German, where every noun is capitalised,
  only acronyms and words with an inner capital (``BayWa``, not ``Start-up-Unternehmen``) count. An entity is dropped when no output word
  matches it: same word ignoring case and accents, or (across languages) the same first
  ``max(4, len - 3)`` letters, so "Europe" finds "Europa".
* **hedges** and **intensifiers** (``hedge_added``/``hedge_removed``, ``intensifier_added``/
  ``intensifier_removed``): per-language lists (:data:`HEDGES`, :data:`INTENSIFIERS`) counted per side.
  Modal verbs of obligation ("must", "doit", "müssen", "deve", "debe") are not intensifiers: "Il faut"
  is translated "We must", "Wir müssen", "Bisogna", "Hay que".
* **length** (``length_ratio``): output characters / source characters outside
  ``[min_length_ratio, max_length_ratio]`` (default 0.5 to 2.0); not raised across languages when
  one of them is outside the five (characters of Chinese and English do not compare).

Languages outside the five get no stance, hedge or intensifier flags (the lists are empty, and no flag
is better than a wrong one; :func:`dembias.fidelity.polarity.not_checked_note` says "stance not checked for zh");
numbers, entities and length still apply. :data:`OPPOSITION` is kept for readers of the word lists; its
words are now the negative pole of the *support* concept.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dembias.fidelity.word_lists import word_lists

SUPPORTED_LANGUAGES = ("fr", "de", "en", "it", "es")

#: Tokens after a negation head within which a particle joins it as one negation.
CONCORD_WINDOW = 6


@dataclass(frozen=True)
class NegationRules:
    """Negation words of one language: concord heads, particles that join a head, and standalone words."""

    heads: frozenset[str] = frozenset()
    particles: frozenset[str] = frozenset()
    standalone: frozenset[str] = frozenset()
    contraction_suffix: str | None = None


def _negation_rules(lists: dict[str, Any]) -> NegationRules:
    return NegationRules(
        heads=frozenset(lists["heads"]),
        particles=frozenset(lists["particles"]),
        standalone=frozenset(lists["standalone"]),
        contraction_suffix=lists["contraction_suffix"],
    )


#: Negation rules per language (``negation`` of each language's word lists).
NEGATION: dict[str, NegationRules] = {
    lang: _negation_rules(word_lists(lang)["negation"]) for lang in SUPPORTED_LANGUAGES
}
#: Opposition words per language, kept for readers (the *support* concept's negative pole now does their work).
OPPOSITION: dict[str, frozenset[str]] = {
    lang: frozenset(word_lists(lang)["opposition"]) for lang in SUPPORTED_LANGUAGES
}
#: Hedges per language: single words and phrases.
HEDGES: dict[str, frozenset[str]] = {lang: frozenset(word_lists(lang)["hedges"]) for lang in SUPPORTED_LANGUAGES}
#: Intensifiers per language (modal verbs of obligation deliberately left out).
INTENSIFIERS: dict[str, frozenset[str]] = {
    lang: frozenset(word_lists(lang)["intensifiers"]) for lang in SUPPORTED_LANGUAGES
}
#: Number words (two to a thousand) and their values, per language.
NUMBER_WORDS: dict[str, dict[str, float]] = {
    lang: dict(word_lists(lang)["number_words"]) for lang in SUPPORTED_LANGUAGES
}

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'"})
_TOKEN = re.compile(r"\w+(?:['\-]\w+)*'?", re.UNICODE)
_ELISION = re.compile(r"^(\w{1,3}')(\w.*)$", re.UNICODE)  # fr/it: n'est, l'acqua, qu'il
_NUMBER = re.compile(
    r"(?<![0-9A-Za-zÀ-ÿ.,])\d{1,3}(?:[ \u00a0\u202f.,']\d{3})+(?:[.,]\d+)?(?!\d)"
    r"|(?<![0-9A-Za-zÀ-ÿ])\d+(?:[.,]\d+)?(?!\d)"
)
_SENTENCE_BREAK = re.compile(r"[.!?:;\n»«\"“”()\[\]]|^\s*(?:\d+[.)]|[-*•])\s")
_CLAUSE_BREAK = re.compile(r"[,–—]")


@dataclass(frozen=True)
class Flag:
    """One lexical flag: its kind, the words that raised it, and a plain-language detail."""

    kind: str
    words: list[str] = field(default_factory=list)
    detail: str = ""


@dataclass(frozen=True)
class Token:
    """A word of a text: its lowercase form, its surface form, and whether it starts a sentence."""

    lower: str
    surface: str
    sentence_start: bool
    clause_start: bool = False


@dataclass
class NegationSpan:
    """One negation of a text: its token positions (head first) and its label ("ne ... pas", "not")."""

    positions: list[int]
    label: str
    attached: bool = False


def base_language(code: str | None) -> str:
    """``fr-FR`` -> ``fr``; ``None`` -> ``""``."""
    return (code or "").split("-")[0].split("_")[0].lower()


def tokenize(text: str, *, language: str) -> list[Token]:
    """Words of ``text``, with French and Italian elisions split off (``n'est`` -> ``n'`` ``est``)."""
    lang = base_language(language)
    text = text.translate(_APOSTROPHES)
    tokens: list[Token] = []
    last_end = 0
    for match in _TOKEN.finditer(text):
        between = text[last_end : match.start()]
        start = not tokens or bool(_SENTENCE_BREAK.search(between))
        clause = start or bool(_CLAUSE_BREAK.search(between))
        last_end = match.end()
        word = match.group(0)
        if lang in ("fr", "it"):
            elided = _ELISION.match(word)
            if elided:
                tokens.append(Token(elided.group(1).lower(), elided.group(1), start, clause))
                word, start, clause = elided.group(2), False, False
        tokens.append(Token(word.lower(), word, start, clause))
    return tokens


def negation_spans(text: str, *, language: str) -> list[NegationSpan]:
    """The negations of ``text`` with their token positions (see :func:`negations`)."""
    rules = NEGATION.get(base_language(language))
    if rules is None:
        return []
    words = [t.lower for t in tokenize(text, language=language)]
    found: list[NegationSpan] = []
    used: set[int] = set()
    for i, word in enumerate(words):
        if i in used:
            continue
        if word in rules.heads:
            window = words[i + 1 : i + 1 + CONCORD_WINDOW]
            joined, positions = [word], [i]
            for j in range(i + 1, min(len(words), i + 1 + CONCORD_WINDOW)):
                if words[j] in rules.heads:
                    break
                if words[j] in rules.particles:
                    joined.append(words[j])
                    positions.append(j)
                    break
            if base_language(language) == "fr" and len(joined) == 1 and {"que", "qu'"} & set(window[:3]):
                continue  # French "ne ... que" means "only"
            used.update(positions)
            found.append(NegationSpan(positions, " ... ".join(joined)))
        elif word in rules.standalone or (rules.contraction_suffix and word.endswith(rules.contraction_suffix)):
            used.add(i)
            found.append(NegationSpan([i], word))
    return found


def negations(text: str, *, language: str) -> list[str]:
    """The negations of ``text`` in its language, one string each ("ne ... pas", "nicht", "don't")."""
    return [span.label for span in negation_spans(text, language=language)]


def marker_words(text: str, *, language: str, lexicon: dict[str, frozenset[str]]) -> list[str]:
    """Entries of ``lexicon[language]`` found in ``text`` (single words and multi-word phrases), in order."""
    entries = lexicon.get(base_language(language))
    if not entries:
        return []
    words = [t.lower for t in tokenize(text, language=language)]
    # multi-word entries are matched on the space-joined token sequence, longest first; ties broken
    # alphabetically so the answer never depends on set iteration order (string hashing is per process)
    phrases = sorted((e for e in entries if " " in e), key=lambda e: (-len(e), e))
    found: list[tuple[int, str]] = []
    covered: set[int] = set()
    for phrase in phrases:
        parts = phrase.split(" ")
        for i in range(len(words) - len(parts) + 1):
            if words[i : i + len(parts)] == parts and not covered.intersection(range(i, i + len(parts))):
                found.append((i, phrase))
                covered.update(range(i, i + len(parts)))
    found.extend((i, w) for i, w in enumerate(words) if i not in covered and w in entries)
    return [entry for _, entry in sorted(found)]


def _number_value(raw: str) -> float:
    text = raw.replace("\u00a0", " ").replace("\u202f", " ")
    # separators followed by exactly three digits (and no more) are thousands separators
    text = re.sub(r"[ .,'](?=\d{3}(?!\d))", "", text)
    return float(text.replace(",", "."))


def numbers(text: str, *, language: str) -> list[tuple[str, float]]:
    """Numbers of ``text`` as (surface, value): digits, and number words from two to a thousand."""
    found = [(m.group(0), _number_value(m.group(0))) for m in _NUMBER.finditer(text.translate(_APOSTROPHES))]
    words = NUMBER_WORDS.get(base_language(language), {})
    found.extend((t.surface, float(words[t.lower])) for t in tokenize(text, language=language) if t.lower in words)
    return found


def _fold(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def entities(text: str, *, language: str) -> list[str]:
    """Named-entity candidates of ``text`` (see the module docstring for the heuristic), in order, unique."""
    lang = base_language(language)
    found: dict[str, None] = {}
    for token in tokenize(text, language=language):
        word = token.surface.rstrip("'")
        if not word[:1].isalpha():
            continue
        letters = [ch for ch in word if ch.isalpha()]
        acronym = len(letters) >= 2 and all(ch.isupper() for ch in letters)
        # an inner capital right after a hyphen starts a compound's next noun ("Start-up-Unternehmen")
        inner_capital = any(ch.isupper() and word[i] != "-" for i, ch in enumerate(word[1:])) and not acronym
        if lang == "de":
            keep = acronym or inner_capital
        else:
            keep = acronym or (word[0].isupper() and not token.sentence_start and word != "I")
        if keep:
            found[word] = None
    return list(found)


def _entity_found(entity: str, output_words: set[str], *, cross_lingual: bool) -> bool:
    target = _fold(entity)
    if target in output_words:
        return True
    if cross_lingual:
        size = max(4, len(target) - 3)
        return len(target) >= 4 and any(w[:size] == target[:size] for w in output_words if len(w) >= size)
    return False


def _count_flag(kind: str, source_words: list[str], output_words: list[str], *, cross: bool, what: str) -> list[Flag]:
    n_source, n_output = len(source_words), len(output_words)
    if cross:
        if n_source == n_output:
            return []
        added = n_output > n_source
        words = output_words if added else source_words
    else:
        diff_added = list((Counter(output_words) - Counter(source_words)).elements())
        diff_removed = list((Counter(source_words) - Counter(output_words)).elements())
        if n_source == n_output and not diff_added:
            return []
        added = n_output > n_source or (n_output == n_source and bool(diff_added))
        words = diff_added if added else diff_removed
        if n_source == n_output:  # same count, different words: report both ways
            return [
                Flag(f"{kind}_added", diff_added, f"{what} in the output not in the source: {', '.join(diff_added)}"),
                Flag(
                    f"{kind}_removed",
                    diff_removed,
                    f"{what} in the source not in the output: {', '.join(diff_removed)}",
                ),
            ]
    detail = (
        f"source has {n_source} {what} ({', '.join(source_words) or 'none'}), "
        f"output has {n_output} ({', '.join(output_words) or 'none'})"
    )
    return [Flag(f"{kind}_{'added' if added else 'removed'}", words, detail)]


def _number_flags(source: str, output: str, *, source_lang: str, target_lang: str) -> list[Flag]:
    src = numbers(source, language=source_lang)
    out = numbers(output, language=target_lang)
    src_values = Counter(v for _, v in src)
    out_values = Counter(v for _, v in out)
    missing = src_values - out_values
    extra = out_values - src_values
    if not missing and not extra:
        return []

    def surfaces(items: list[tuple[str, float]], values: Counter[float]) -> list[str]:
        return [s for s, v in items if v in values]

    if missing and extra:
        words = surfaces(src, missing) + surfaces(out, extra)
        return [Flag("number_changed", words, f"source numbers {surfaces(src, missing)} became {surfaces(out, extra)}")]
    if missing:
        return [Flag("number_dropped", surfaces(src, missing), "numbers of the source missing from the output")]
    return [Flag("number_added", surfaces(out, extra), "numbers in the output that the source does not have")]


def length_ratio(source: str, output: str) -> float:
    """Characters of the output (stripped) over characters of the source; ``inf`` for an empty source."""
    n_source = len(source.strip())
    return len(output.strip()) / n_source if n_source else float("inf")


def lexical_flags(
    source: str,
    output: str,
    *,
    source_lang: str,
    target_lang: str,
    min_length_ratio: float = 0.5,
    max_length_ratio: float = 2.0,
) -> list[Flag]:
    """Every lexical flag raised by the rewrite ``source -> output`` (see the module docstring)."""
    src_lang, tgt_lang = base_language(source_lang), base_language(target_lang or source_lang)
    cross = src_lang != tgt_lang
    flags: list[Flag] = []
    if src_lang in NEGATION and tgt_lang in NEGATION:
        from dembias.fidelity.polarity import stance_flags

        flags += stance_flags(source, output, source_lang=src_lang, target_lang=tgt_lang)
    for kind, lexicon, what in (
        ("hedge", HEDGES, "hedge(s)"),
        ("intensifier", INTENSIFIERS, "intensifier(s)"),
    ):
        if src_lang in lexicon and tgt_lang in lexicon:
            flags += _count_flag(
                kind,
                marker_words(source, language=src_lang, lexicon=lexicon),
                marker_words(output, language=tgt_lang, lexicon=lexicon),
                cross=cross,
                what=what,
            )
    flags += _number_flags(source, output, source_lang=src_lang, target_lang=tgt_lang)
    output_words = {_fold(t.surface.rstrip("'")) for t in tokenize(output, language=tgt_lang)}
    dropped = [
        e for e in entities(source, language=src_lang) if not _entity_found(e, output_words, cross_lingual=cross)
    ]
    if dropped:
        flags.append(Flag("entity_dropped", dropped, "capitalised names of the source not found in the output"))
    ratio = length_ratio(source, output)
    comparable = not cross or (src_lang in NEGATION and tgt_lang in NEGATION)
    if comparable and not min_length_ratio <= ratio <= max_length_ratio:
        flags.append(
            Flag(
                "length_ratio",
                [],
                f"output is {ratio:.2f} times the source's length (outside {min_length_ratio}-{max_length_ratio})",
            )
        )
    return flags
