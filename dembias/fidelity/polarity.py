"""Stance changes without a judge model: aligned polarity concepts and negation scope, in five languages.

A rewrite or a translation can say the opposite of its source without any negation being added:
"ban" for "allow", "less" for "more", "without" for "with". This module finds such **polarity marks**
with per-language word lists whose entries share **concept ids** across languages, so that a French
source is compared with its English translation concept by concept:

=============  =====================================================  ===================================
concept        positive pole                                          negative pole
=============  =====================================================  ===================================
permit         allow, autoriser, erlauben, permettere, permitir        ban, interdire, verbieten, vietare,
                                                                       prohibir
amount         more, increase, plus (de), mehr, più, más               less, fewer, reduce, moins, weniger,
                                                                       meno, menos
support        support, in favour of, soutenir, für (sind für) ...    oppose, against, contre, gegen,
                                                                       contro, contra, reject ...
with           with, avec, mit, con                                   without, sans, ohne, senza, sin
exist          create, keep, protect, open, créer, schaffen ...       abolish, destroy, remove, close ...
obligation     mandatory, obligatoire, verpflichtend ...              voluntary, facultatif, freiwillig ...
ease           easier, simplify, faciliter, erleichtern ...           harder, complicate, erschweren ...
quality        good, better, improve, bon, gut, buono, bueno ...      bad, worse, harm, mauvais, schlecht...
=============  =====================================================  ===================================

The full lists are the ``polarity`` entries of ``resources/<lang>.json``, read into
:data:`~dembias.fidelity.polarity_lexicon.LEXICON`. Entries are lowercase and compared without accents; ``word*``
matches a prefix, ``*word*`` (German compounds) a substring, and entries with spaces match as phrases
before single words. The words "more"/"less" and their equivalents count only where they quantify
(:func:`_amount_word_counts`): not in "no longer" ("ne ... plus", "nicht mehr", "non ... più"), "more
or less", superlatives, "at least", or French "plus" before an adjective.

**Negation by scope, not by count.** Each negation (:func:`dembias.fidelity.lexical.negation_spans`) is attached
to the first polarity mark after it in the same clause, else to the nearest mark before it in that clause
(German "nicht" after its verb, "allow no advertising" = "keine Werbung erlauben"). Clauses end at
punctuation and at "and"/"but" words. An attached negation turns the mark's pole
around: "not allow" is the negative pole of *permit*, so "ne pas autoriser" = "ban" raises nothing.
Negations attached to no mark are **free**; they are compared sentence by sentence when both texts have
as many sentences, else over the whole text (:func:`free_negation_flags`).

A negation attached to a mark of a concept that the other side does not mention is compared as a free
negation too ("We must not have an open policy" against a source without *exist*).

**A flip** of concept *c* (flag ``polarity_flipped``): the output has more marks of one pole than the
source and no more of the other, while the source had the other pole. Concepts only one side mentions
are not flags: translators choose words, and a dropped word is not a reversed stance.

"Il faut" = "We must" = "Wir müssen" = "Bisogna" = "Hay que": modal verbs of obligation are deliberately
not polarity marks (nor intensifiers), so the make.org formula never raises a flag across languages.
Languages outside the five are not checked, and say so (:func:`stance_checked`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

from dembias.fidelity.lexical import Flag, NegationSpan, Token, base_language, negation_spans, tokenize
from dembias.fidelity.polarity_lexicon import (
    AMOUNT_IDIOMS,
    AMOUNT_WORDS,
    CLAUSE_WORDS,
    EXCLUDED,
    LEXICON,
    NEGATING_BEFORE_MORE,
    PHRASES,
    POLARITY_LANGUAGES,
    SUPERLATIVE_BEFORE,
    fold,
    matches_entry,
    single_word_entry,
)

#: Tokens after a negation within which it can attach to a polarity mark of the same clause.
SCOPE_WINDOW = 8


@dataclass(frozen=True)
class Mark:
    """One polarity mark: concept, pole as written, position, words, and the negation attached to it."""

    concept: str
    pole: int
    start: int
    end: int
    words: str
    sentence: int
    clause: int
    negation: str | None = None

    @property
    def effective(self) -> int:
        """The pole once an attached negation is applied."""
        return -self.pole if self.negation else self.pole

    def describe(self) -> str:
        """'not ... ban' style text of the mark with its negation."""
        return f"{self.negation} + {self.words}" if self.negation else self.words


def _amount_word_counts(words: list[str], i: int, lang: str, used_by_negation: set[int]) -> bool:
    """Whether "more"/"less" (or its equivalent) at ``words[i]`` quantifies (see the module docstring)."""
    word = words[i]
    prev = words[i - 1] if i > 0 else ""
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if i in used_by_negation:  # "ne ... plus", "non ... più": a negation particle, not an amount
        return False
    if (prev, word) in AMOUNT_IDIOMS[lang] or (word, nxt) in AMOUNT_IDIOMS[lang]:
        return False
    if word == AMOUNT_WORDS[lang][0] and prev in NEGATING_BEFORE_MORE[lang]:
        return False  # "no more", "nicht mehr", "non più": no longer
    if prev in SUPERLATIVE_BEFORE[lang]:
        return False
    if lang == "fr" and word == "plus":
        # "plus de X", "X de plus", "produire plus" quantify; "plus sûr" (before an adjective) compares
        return nxt in ("de", "d'", "") or prev == "de" or not nxt.isalpha()
    return True


def polarity_marks(text: str, *, language: str) -> list[Mark]:
    """The polarity marks of ``text`` with their negations attached (see the module docstring)."""
    return _marks_and_free(text, language=language)[0]


def _phrase_marks(
    phrases: tuple[tuple[str, int, tuple[str, ...]], ...],
    tokens: list[Token],
    words: list[str],
    sentences: list[int],
    clauses: list[int],
    covered: set[int],
) -> list[Mark]:
    """Marks of the lexicon's ``phrases`` (longest first); the positions they take are added to ``covered``."""
    found: list[Mark] = []
    for concept, pole, parts in phrases:
        for i in range(len(words) - len(parts) + 1):
            span = range(i, i + len(parts))
            if covered.intersection(span):
                continue
            if all(matches_entry(p, words[i + k]) for k, p in enumerate(parts)):
                covered.update(span)
                surface = " ".join(t.surface for t in tokens[i : i + len(parts)])
                found.append(Mark(concept, pole, i, i + len(parts) - 1, surface, sentences[i], clauses[i]))
    return found


def _word_marks(
    tokens: list[Token],
    words: list[str],
    sentences: list[int],
    clauses: list[int],
    covered: set[int],
    *,
    lang: str,
    negated: set[int],
) -> list[Mark]:
    """Marks of the lexicon's single words outside the phrases (excluded words and amounts that do not count left out)."""
    excluded = EXCLUDED.get(lang, frozenset())
    amount_words = AMOUNT_WORDS[lang]
    found: list[Mark] = []
    for i, word in enumerate(words):
        if i in covered or word in excluded or not word[:1].isalpha():
            continue
        if word in amount_words and not _amount_word_counts(words, i, lang, negated):
            continue
        hit = single_word_entry(lang, word)
        if hit is not None:
            found.append(Mark(hit[0], hit[1], i, i, tokens[i].surface, sentences[i], clauses[i]))
    return found


def _marks_and_free(text: str, *, language: str) -> tuple[list[Mark], list[tuple[NegationSpan, int, str]]]:
    """Polarity marks, and the free negations as (span, sentence, the word after it)."""
    lang = base_language(language)
    if lang not in POLARITY_LANGUAGES:
        return [], []
    tokens = tokenize(text, language=lang)
    words = [fold(t.lower) for t in tokens]
    sentences, clauses = _sentence_and_clause_ids(tokens, lang)
    spans = negation_spans(text, language=lang)
    used_by_negation = {j for span in spans for j in span.positions}
    covered: set[int] = set()
    found = _phrase_marks(PHRASES[lang], tokens, words, sentences, clauses, covered)
    found += _word_marks(tokens, words, sentences, clauses, covered, lang=lang, negated=used_by_negation)
    found.sort(key=lambda m: m.start)
    marks = _attach_negations(found, spans, clauses, lang)
    free = []
    for span in spans:
        if span.attached:
            continue
        last = span.positions[-1] if len(span.positions) == 1 else span.positions[0]
        scoped = tokens[last + 1].surface if last + 1 < len(tokens) else ""
        free.append((span, sentences[span.positions[0]] if sentences else 0, scoped))
    return marks, free


def _sentence_and_clause_ids(tokens: list[Token], lang: str) -> tuple[list[int], list[int]]:
    """Sentence and clause index of every token (clauses also break at commas and "but" words)."""
    del lang
    sentence = clause = -1
    sentences, clauses = [], []
    for token in tokens:
        if token.sentence_start:
            sentence += 1
            clause += 1
        elif token.clause_start or fold(token.lower) in CLAUSE_WORDS:
            clause += 1
        sentences.append(max(sentence, 0))
        clauses.append(max(clause, 0))
    return sentences, clauses


def _attach_negations(marks: list[Mark], spans: list[NegationSpan], clauses: list[int], lang: str) -> list[Mark]:
    """Attach each negation to the first mark after it in its clause, else to the nearest mark before it."""
    del lang  # the rule is the same in the five languages
    attached: dict[int, list[str]] = {}
    for span in spans:
        head = span.positions[0]
        after = [
            k
            for k, m in enumerate(marks)
            if m.start > head and m.start - head <= SCOPE_WINDOW and clauses[m.start] == clauses[head]
        ]
        target = after[0] if after else None
        if target is None:  # "nicht" after its verb, "allow no advertising": the nearest mark before it
            before = [k for k, m in enumerate(marks) if m.start < head and clauses[m.start] == clauses[head]]
            target = before[-1] if before else None
        if target is not None:
            attached.setdefault(target, []).append(span.label)
            span.attached = True
    out = []
    for k, mark in enumerate(marks):
        labels = attached.get(k, [])
        # two negations on one mark cancel ("not without"): the parity decides
        out.append(replace(mark, negation=" ".join(labels)) if len(labels) % 2 == 1 else mark)
    return out


def stance_checked(source_lang: str, target_lang: str) -> bool:
    """Whether both languages have polarity lexicons and negation rules (else stance is not checked)."""
    return base_language(source_lang) in POLARITY_LANGUAGES and base_language(target_lang) in POLARITY_LANGUAGES


def not_checked_note(source_lang: str, target_lang: str) -> str | None:
    """The note "stance not checked for zh" when a language has no lexicon, else None."""
    missing = [
        lang or "an unknown language"
        for lang in dict.fromkeys([base_language(source_lang), base_language(target_lang)])
        if lang not in POLARITY_LANGUAGES
    ]
    return f"stance not checked for {', '.join(missing)}" if missing else None


def polarity_flip_flags(source_marks: list[Mark], output_marks: list[Mark]) -> list[Flag]:
    """``polarity_flipped`` flags: concepts whose pole turned around (rule in the module docstring)."""
    flags = []
    for concept in LEXICON:
        src = [m for m in source_marks if m.concept == concept]
        out = [m for m in output_marks if m.concept == concept]
        if not src or not out:
            continue
        s_count = Counter(m.effective for m in src)
        o_count = Counter(m.effective for m in out)
        for pole in (1, -1):
            gained = o_count[pole] - s_count[pole]
            other_gained = o_count[-pole] - s_count[-pole]
            if gained > 0 and other_gained <= 0 and s_count[-pole] > 0:
                before = [m for m in src if m.effective == -pole]
                after = [m for m in out if m.effective == pole]
                words = [w for m in before + after for w in ([m.negation] if m.negation else []) + [m.words]]
                detail = (
                    f"{concept}: source says {', '.join(repr(m.describe()) for m in before)} "
                    f"({_POLE[-pole]}), output says {', '.join(repr(m.describe()) for m in after)} ({_POLE[pole]})"
                )
                flags.append(Flag("polarity_flipped", _unique(words), detail))
    return flags


_POLE = {1: "positive", -1: "negative"}


def _unique(words: list[str]) -> list[str]:
    return list(dict.fromkeys(words))


def free_negation_flags(
    source_free: list[tuple[NegationSpan, int, str]],
    output_free: list[tuple[NegationSpan, int, str]],
    *,
    source_sentences: int,
    output_sentences: int,
) -> list[Flag]:
    """``negation_added``/``negation_removed`` for free negations, compared by sentence (else the whole text).

    A sentence is negated when it holds an odd number of free negations; the flag names the negation
    words and, in its detail, the word each negation precedes (its scope).
    """
    aligned = source_sentences == output_sentences
    flags = []

    def parity(free: list[tuple[NegationSpan, int, str]], key: int | None) -> list[tuple[NegationSpan, int, str]]:
        return [f for f in free if key is None or f[1] == key]

    keys: list[int | None] = list(range(max(source_sentences, 1))) if aligned else [None]
    for key in keys:
        src, out = parity(source_free, key), parity(output_free, key)
        if len(src) % 2 == len(out) % 2:
            continue
        added = len(out) % 2 == 1
        items = out if added else src
        where = f"sentence {key + 1}" if key is not None else "the text"
        scope = ", ".join(f"{span.label} (before {word!r})" if word else span.label for span, _, word in items)
        detail = f"{'output' if added else 'source'} negates {where}: {scope}; the other side does not"
        flags.append(Flag(f"negation_{'added' if added else 'removed'}", [span.label for span, _, _ in items], detail))
    return flags


def stance_flags(source: str, output: str, *, source_lang: str, target_lang: str) -> list[Flag]:
    """Polarity flips and free-negation changes of ``source -> output`` (empty when not checked)."""
    if not stance_checked(source_lang, target_lang):
        return []
    src_marks, src_free = _marks_and_free(source, language=source_lang)
    out_marks, out_free = _marks_and_free(output, language=target_lang)
    flags = polarity_flip_flags(src_marks, out_marks)
    # a negation governing a concept the other side does not mention cannot be compared through that
    # concept: it is compared as a free negation of its sentence
    src_free = src_free + _unmatched_negations(src_marks, out_marks)
    out_free = out_free + _unmatched_negations(out_marks, src_marks)
    flags += free_negation_flags(
        src_free,
        out_free,
        source_sentences=_n_sentences(source, source_lang),
        output_sentences=_n_sentences(output, target_lang),
    )
    return flags


def _unmatched_negations(marks: list[Mark], other: list[Mark]) -> list[tuple[NegationSpan, int, str]]:
    """Negations attached to marks of a concept that ``other`` lacks, as free negations."""
    concepts = {m.concept for m in other}
    return [
        (NegationSpan([m.start], m.negation, attached=True), m.sentence, m.words)
        for m in marks
        if m.negation and m.concept not in concepts
    ]


def _n_sentences(text: str, language: str) -> int:
    return sum(t.sentence_start for t in tokenize(text, language=base_language(language)))
