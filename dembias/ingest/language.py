"""Offline language identification of contributions (py3langid, which ships its model on PyPI)."""

from __future__ import annotations

from collections.abc import Iterable

#: langid labels folded into the code a user expects for a debate's language.
_FOLD = {"yue": "zh", "wuu": "zh"}


def detect_language(text: str) -> str:
    """ISO 639-1 code of the most likely language of ``text`` ("und" for text without letters)."""
    import py3langid

    if not any(ch.isalpha() for ch in text):
        return "und"
    code, _score = py3langid.classify(text)
    return _FOLD.get(code, code)


def detect_languages(texts: Iterable[str]) -> list[str]:
    """:func:`detect_language` of every text."""
    return [detect_language(t) for t in texts]
