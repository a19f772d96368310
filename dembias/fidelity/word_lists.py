"""The per-language word lists of the lexical and stance flags, read from ``dembias/fidelity/resources/<lang>.json``.

One file per language holds every list the flags read: negation words (:mod:`dembias.fidelity.lexical`),
hedges, intensifiers, number words, and the polarity concepts with the words around "more"/"less"
(:mod:`dembias.fidelity.polarity`). ``resources/README.md`` says where the lists come from and how to add a
language. Files are read once per process.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

#: The keys every language file has (``resources/README.md`` describes each).
WORD_LIST_KEYS = (
    "language",
    "name",
    "negation",
    "hedges",
    "intensifiers",
    "opposition",
    "number_words",
    "polarity",
    "polarity_excluded",
    "amount_words",
    "amount_idioms",
    "negating_before_more",
    "superlative_before",
    "clause_words",
)


@cache
def word_lists(language: str) -> dict[str, Any]:
    """The word lists of ``language`` (a base code such as ``fr``), as written in its resource file.

    Raises :class:`FileNotFoundError` for a language without a file and :class:`ValueError` for a file that
    lacks a key of :data:`WORD_LIST_KEYS` or names another language. The returned dict is shared: read it,
    do not change it.
    """
    resource = resources.files("dembias.fidelity").joinpath("resources", f"{language}.json")
    lists = json.loads(resource.read_text(encoding="utf-8"))
    missing = [key for key in WORD_LIST_KEYS if key not in lists]
    if missing or lists["language"] != language:
        raise ValueError(f"word lists of {language!r}: missing {missing} or wrong language {lists.get('language')!r}")
    return lists
