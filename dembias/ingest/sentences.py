"""Sentence splitting of model outputs, by a maintained multilingual splitter (pysbd).

A regex on end punctuation cuts "U.S.", "e.g.", "Dr." or "M." into sentences of their own; pysbd's
per-language rules (Golden Rules) do not. The language is detected from the text (py3langid) unless
given, and mapped to the languages pysbd knows; any other language falls back to English rules, which
still split on ``. ! ?`` and the CJK full stops.

Blocks are split first: paragraphs (blank lines), lines, and bullets each start a new sentence, since
model outputs often come as lists. A segment with no letter or digit of its own ("1.", "-") is merged
into the segment that follows it.
"""

from __future__ import annotations

import re
from functools import lru_cache

#: Languages pysbd has rules for (ISO 639-1).
PYSBD_LANGUAGES = frozenset(
    "en hi mr zh es am ar hy bg ur ru pl fa nl da fr my el it ja de kk sk".split()  # noqa: SIM905
)
_BLOCKS = re.compile(r"\n+")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,3}[.)])\s+")
_LEADING_CITATION = re.compile(r"^(?:\[[^\]]*\]\s*)+")
_WORDY = re.compile(r"[^\W\d_]{2,}|[\u3400-\u9fff]", re.UNICODE)


@lru_cache(maxsize=32)
def _segmenter(language: str):  # pysbd.Segmenter, imported lazily
    import pysbd

    return pysbd.Segmenter(language=language, clean=False)


def splitter_language(text: str, language: str | None = None) -> str:
    """The pysbd language used for ``text``: ``language`` (a BCP 47 tag) if pysbd knows it, else detected."""
    code = (language or "").split("-")[0].lower()
    if code not in PYSBD_LANGUAGES:
        from dembias.ingest.language import detect_language

        code = detect_language(text)
    return code if code in PYSBD_LANGUAGES else "en"


def split_sentences(text: str, *, language: str | None = None) -> list[str]:
    """Split ``text`` into sentences: by line, then by pysbd's rules for its language.

    ``language`` is a hint (e.g. the debate's language); without it the language is detected. A
    bracketed citation that opens a segment after a full stop ("Taxes. [7] Next.") is moved to the
    sentence before it, within the same line.
    """
    lang = splitter_language(text, language)
    segmenter = _segmenter(lang)
    sentences: list[str] = []
    for block in _BLOCKS.split(text):
        block = block.strip()
        if not block:
            continue
        pending = ""
        block_start = len(sentences)
        for segment in segmenter.segment(block):
            segment = segment.strip()
            lead = _LEADING_CITATION.match(segment)
            if lead and len(sentences) > block_start and not pending:
                # "Taxes. [7] Next one.": a citation after a full stop belongs to the sentence before it
                sentences[-1] = f"{sentences[-1]} {lead.group(0).strip()}"
                segment = segment[lead.end() :].strip()
            if not segment:
                continue
            if not _WORDY.search(_strip_citations(segment)):
                pending = f"{pending} {segment}".strip()
                continue
            sentences.append(f"{pending} {segment}".strip() if pending else segment)
            pending = ""
        if pending:
            if sentences and not _BULLET.match(pending):
                sentences[-1] = f"{sentences[-1]} {pending}"
            else:
                sentences.append(pending)
    return sentences


def _strip_citations(segment: str) -> str:
    return re.sub(r"\[[^\]]*\]", "", segment)
