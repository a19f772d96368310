"""Degenerate model outputs, named: quality flags of a summary.

A weak model's garbage is a finding, as long as dembias says so. Every scored output gets a
``quality_flags`` list (empty when nothing is wrong) and one plain sentence per flag:

* ``empty``: no unit with a word in it.
* ``repetition``: at least 30% of the units (and at least two) repeat an earlier unit (near-duplicates:
  :func:`dembias.pluralism.support.screen_units`).
* ``copied_title``: at least two units, or 30% of them, are the debate's title.
* ``copied_prompt``: a unit of five words or more is taken from the prompt (its words all in the prompt).
* ``mostly_content_free``: at least half of the units carry no content (duplicates of such units
  included): empty, title, unrelated to the debate, or only restating the debate as a whole.
* ``wrong_language``: the output's detected language is not the one expected (the target language of
  a translation, else the debate's language); only for texts of 20 letters or more.
* ``unsupported_citations``: fewer than half of the citations (at least three) pass the support test.
* ``links_nothing``: no unit carries any contribution.

The thresholds (30%, half, three citations) are stated conventions for naming a problem, not
calibrated on the demo; the numbers behind each flag are in its sentence, so a reader can judge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from dembias.pluralism.support import words

QUALITY_FLAGS = (
    "empty",
    "repetition",
    "copied_title",
    "copied_prompt",
    "mostly_content_free",
    "wrong_language",
    "unsupported_citations",
    "links_nothing",
)


@dataclass
class Quality:
    """The flags of one output and a sentence for each."""

    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, flag: str, note: str) -> None:
        """Record a flag with its explanation."""
        self.flags.append(flag)
        self.notes.append(note)


def _language_base(tag: str | None) -> str | None:
    return tag.split("-")[0].lower() if tag else None


def copied_from_prompt(unit: str, prompt: str | None, *, min_words: int = 5) -> bool:
    """Whether a unit of at least ``min_words`` words has all its words in the prompt."""
    if not prompt:
        return False
    unit_words = words(unit)
    return len(unit_words) >= min_words and set(unit_words) <= set(words(prompt))


def assess_output(
    units: Sequence[str],
    screen: pd.DataFrame,
    *,
    text: str | None = None,
    prompt: str | None = None,
    expected_language: str | None = None,
    n_linked_units: int = 0,
    n_citations: int = 0,
    n_supported: int = 0,
) -> Quality:
    """The quality flags of one output (module docstring); ``screen`` is row-aligned with ``units``."""
    quality = Quality()
    n = len(units)
    reasons = screen["reason"].tolist() if n else []
    if n == 0 or all(r == "empty" for r in reasons):
        quality.add("empty", "The output has no sentence with a word in it.")
        return quality
    n_dup = sum(r == "duplicate" for r in reasons)
    if n_dup >= 2 and n_dup >= 0.3 * n:
        quality.add("repetition", f"{n_dup} of its {n} sentences repeat an earlier one.")
    n_title = int((screen["reason"].eq("title") | _duplicates_of(screen, "title")).sum())
    if n_title >= 2 or (n_title and n_title >= 0.3 * n):
        quality.add("copied_title", f"{n_title} of its {n} sentences are the debate's title.")
    n_prompt = sum(copied_from_prompt(u, prompt) for u in units)
    if n_prompt:
        quality.add("copied_prompt", f"{n_prompt} of its {n} sentences are copied from the prompt.")
    n_free = int(screen["content_free"].sum())
    if n_free >= 0.5 * n:
        quality.add(
            "mostly_content_free",
            f"{n_free} of its {n} sentences say nothing specific about the debate (title, boilerplate, "
            "unrelated text, or the debate as a whole).",
        )
    if text and expected_language:
        from dembias.ingest.language import detect_language

        letters = sum(ch.isalpha() for ch in text)
        found = detect_language(text)
        if letters >= 20 and found != "und" and found != _language_base(expected_language):
            quality.add("wrong_language", f"It is written in '{found}', not in '{expected_language}' as expected.")
    if n_citations >= 3 and n_supported < 0.5 * n_citations:
        quality.add(
            "unsupported_citations",
            f"Only {n_supported} of its {n_citations} citations are supported by the sentence that makes them.",
        )
    if n_linked_units == 0:
        quality.add("links_nothing", "No sentence carries any contribution of the debate.")
    return quality


def _duplicates_of(screen: pd.DataFrame, reason: str) -> pd.Series:
    """Rows that duplicate a unit marked ``reason``."""
    original = screen["duplicate_of"].to_numpy()
    reasons = screen["reason"].to_numpy()
    return pd.Series([o >= 0 and reasons[o] == reason for o in original], index=screen.index)
