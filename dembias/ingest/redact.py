"""Redaction of personal data in texts: e-mail addresses, phone numbers, URLs, IBANs, card numbers.

Each match is replaced by a placeholder (``[EMAIL]``, ``[PHONE]``, ``[URL]``, ``[IBAN]``, ``[CARD]``).
The patterns lean towards precision: years, counts, amounts, percentages, dates and measures
("2040", "3 Bäume", "1.5 °C", "20%", "12 500 €", "01.02.2024") are left alone; IBANs must pass the
ISO 13616 mod-97 check and card numbers the Luhn check. Redaction is a safety net, not a guarantee: names,
addresses and free-text self-descriptions are not found by patterns (see docs/privacy.md).

:func:`redact_text` works on one text; :func:`redact_corpus` rewrites the texts of whole debates in the
corpus (contributions, outputs and output units) in one :func:`dembias.workspace.corpus.corpus_writer` transaction,
and records in each debate's ``extra`` JSON that redaction ran, with counts per pattern. Its statements live
in :mod:`dembias.workspace.redaction_texts`.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dembias.workspace.corpus import corpus_writer, open_corpus
from dembias.workspace.folder import Workspace
from dembias.workspace.redaction_texts import (
    REDACTED_TABLES,
    debates_and_extras,
    set_debate_extra,
    texts_to_redact,
    write_redacted_texts,
)

REDACTION_VERSION = 1

# ------------------------------------------------------------------------------------------------
# patterns

_URL = re.compile(r"(?<![@\w.])(?:(?:https?|ftp)://|www\.)[^\s<>\"'\[\]{}|\\^`]+", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
_EMAIL_SPELLED = re.compile(
    r"(?<![\w.+-])[\w.+-]+\s*[\[(]\s*(?:at|arobase|chez|ät|chiocciola|arroba)\s*[\])]\s*[\w-]+"
    r"(?:\s*[\[(]\s*(?:dot|point|punkt|punto)\s*[\])]\s*[\w-]+)+",
    re.IGNORECASE,
)
_IBAN = re.compile(r"\b[A-Z]{2}[0-9]{2}(?:[ -]?[A-Z0-9]){11,30}")
_CARD = re.compile(r"(?<![\d.,])(?:\d{4}[ -]){3}\d{1,7}(?![\d.,]\d)|(?<![\d.,])\d{13,19}(?![\d.,]?\d)")
# phone numbers: international (+ or 00), national with a trunk 0, North American, Italian and Spanish mobiles
_SEP = r"[ \u00a0./-]?"
_PHONE = re.compile(
    r"(?<![\w+])(?<!\d[ ,.'])"
    r"(?>"  # atomic: a number followed by a unit or currency is not shortened until it fits
    r"(?:\+|00)[1-9]\d{0,2}" + _SEP + r"(?:\(0\)" + _SEP + r")?(?:\(\d{1,4}\)" + _SEP + r")?\d(?:" + _SEP + r"\d)+"
    r"|\(0?\d{2,5}\)" + _SEP + r"\d(?:" + _SEP + r"\d)+"
    r"|0\d(?:" + _SEP + r"\d)+"
    r"|\d{3}[.-]\d{3}[.-]\d{4}"
    r"|3\d{2}[ .]?\d{6,7}|3\d{2}[ .]\d{3}[ .]\d{4}"
    r"|[6789]\d{2}(?: \d{2}){3}|9\d \d{3} \d{2} \d{2}"
    r")"
    r"(?![\w%°€$£¥]|[.,]\d|\s?(?:%|°|€|\$|£|¥|eur\b|euros?\b|chf\b|usd\b|km\b|kg\b|m²|ha\b|t\b))",
    re.IGNORECASE,
)
_DATE = re.compile(r"\d{1,2}([./-])\d{1,2}\1\d{2,4}|\d{4}([./-])\d{1,2}\2\d{1,2}")


def _iban_ok(compact: str) -> bool:
    """ISO 13616: move the first four characters to the end, letters to numbers, remainder 1 mod 97."""
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_SOCIAL = (
    r"facebook\.com|fb\.com|fb\.me|twitter\.com|x\.com|instagram\.com|linkedin\.com|tiktok\.com|github\.com|"
    r"t\.me|wa\.me|vk\.com|snapchat\.com|threads\.net|bsky\.app|xing\.com|mastodon\.[\w.]+"
)
#: A URL is personal when it points at a person: userinfo, a social-network profile, a user path, or a
#: query naming a person or holding an e-mail address. Other URLs (cited sources) are content and stay.
_PERSONAL_URL = re.compile(
    r"^(?:(?:https?|ftp)://)?[^/@\s]+@"
    r"|^(?:(?:https?|ftp)://)?(?:[\w-]+\.)*(?:" + _SOCIAL + r")/+[^\s/?#]"
    r"|/(?:~|@)[\w.%-]"
    r"|/(?:users?|u|profiles?|people|members?|membres?|personen|utenti|usuarios|authors?|channel|in)/[\w.%-]"
    r"|[?&;](?:e-?mail|mail|phone|tel|user(?:name)?|uid|name|login|token)="
    r"|[?&;][^=\s&]+=[^&\s]*(?:@|%40)",
    re.IGNORECASE,
)


#: A social-network profile written without scheme or www (``facebook.com/jane.doe``, ``mastodon.social/@jane``),
#: as the documentation's own examples are: _URL needs a scheme or www and missed them.
_SOCIAL_BARE = re.compile(r"(?<![@\w.:/])(?:[\w-]+\.)*(?:" + _SOCIAL + r")/+[^\s<>\"'\[\]{}|\\^`]+", re.IGNORECASE)


def _url_end(match: re.Match[str]) -> int:
    """End of the URL without trailing punctuation (and a closing bracket it does not open)."""
    text = match.group(0)
    while text and text[-1] in ".,;:!?)»”’'":
        if text[-1] == ")" and text.count("(") > text.count(")") - 1:
            break
        text = text[:-1]
    return match.start() + len(text)


def _span_url(match: re.Match[str]) -> tuple[int, int] | None:
    end = _url_end(match)
    return (match.start(), end) if _PERSONAL_URL.search(match.string[match.start() : end]) else None


def _span_iban(match: re.Match[str]) -> tuple[int, int] | None:
    """The longest prefix of the match that is a valid IBAN and ends at a word boundary."""
    raw = match.group(0)
    ends = [i + 1 for i, ch in enumerate(raw) if ch.isalnum()]
    for end in reversed(ends):
        compact = re.sub(r"[ -]", "", raw[:end])
        if len(compact) < 15:
            break
        after = match.string[match.start() + end : match.start() + end + 1]
        if (not after or not after.isalnum()) and _iban_ok(compact):
            return match.start(), match.start() + end
    return None


def _span_card(match: re.Match[str]) -> tuple[int, int] | None:
    digits = re.sub(r"\D", "", match.group(0))
    return match.span() if 13 <= len(digits) <= 19 and _luhn_ok(digits) else None


def _span_phone(match: re.Match[str]) -> tuple[int, int] | None:
    raw = match.group(0).rstrip(" .-/\u00a0")
    digits = re.sub(r"\D", "", raw)
    if not 8 <= len(digits) <= 15 or _DATE.fullmatch(raw):
        return None
    if re.fullmatch(r"\d{1,3}(?:[ .,\u00a0']\d{3})+", raw):  # a thousands-grouped number: 612 345 678
        return None
    return match.start(), match.start() + len(raw)


@dataclass(frozen=True)
class Pattern:
    """A kind of personal data: its name, placeholder, regex, and a check that returns the span to replace."""

    name: str
    placeholder: str
    regex: re.Pattern[str]
    span: Callable[[re.Match[str]], tuple[int, int] | None] = lambda m: m.span()


#: The patterns, applied in this order (a URL holding an e-mail address becomes one [URL]).
PATTERNS: tuple[Pattern, ...] = (
    Pattern("url", "[URL]", _URL, _span_url),
    Pattern("url", "[URL]", _SOCIAL_BARE, _span_url),
    Pattern("email", "[EMAIL]", _EMAIL),
    Pattern("email", "[EMAIL]", _EMAIL_SPELLED),
    Pattern("iban", "[IBAN]", _IBAN, _span_iban),
    Pattern("card", "[CARD]", _CARD, _span_card),
    Pattern("phone", "[PHONE]", _PHONE, _span_phone),
)
PATTERN_NAMES: tuple[str, ...] = tuple(dict.fromkeys(p.name for p in PATTERNS))


@dataclass
class Redaction:
    """A redacted text, the count of replacements per pattern, and the original matches."""

    text: str
    counts: Counter[str] = field(default_factory=Counter)
    matches: list[tuple[str, str]] = field(default_factory=list)  # (pattern name, matched text)

    @property
    def changed(self) -> bool:
        return bool(self.matches)


def redact_text(text: str, *, patterns: Iterable[str] | None = None) -> Redaction:
    """Replace personal data in ``text`` with placeholders.

    ``patterns`` restricts to some of :data:`PATTERN_NAMES` (default: all).
    """
    wanted = set(PATTERN_NAMES if patterns is None else patterns)
    unknown = wanted - set(PATTERN_NAMES)
    if unknown:
        raise ValueError(f"unknown redaction patterns {sorted(unknown)}; known: {list(PATTERN_NAMES)}")
    result = Redaction(text=text)
    kept_urls: list[str] = []
    if "url" in wanted:  # URLs that stay (cited sources) are shielded from the other patterns
        result.text, kept_urls = _shield_urls(text)
    for pattern in PATTERNS:
        if pattern.name not in wanted:
            continue
        pieces, last = [], 0
        current = result.text
        for match in pattern.regex.finditer(current):
            span = pattern.span(match)
            if span is None or span[0] < last:
                continue
            pieces.append(current[last : span[0]])
            pieces.append(pattern.placeholder)
            result.matches.append((pattern.name, current[span[0] : span[1]]))
            result.counts[pattern.name] += 1
            last = span[1]
        if pieces:
            pieces.append(current[last:])
            result.text = "".join(pieces)
    if kept_urls:
        result.text = _SHIELD.sub(lambda m: kept_urls[int(m.group(1))], result.text)
    return result


_SHIELD = re.compile("\ue000(\\d+)\ue001")


def _shield_urls(text: str) -> tuple[str, list[str]]:
    """``text`` with every non-personal URL replaced by a private-use token, and the URLs."""
    if "\ue000" in text:  # a text already holding the token characters is not shielded
        return text, []
    kept: list[str] = []

    def shield(match: re.Match[str]) -> str:
        end = _url_end(match) - match.start()
        url = match.group(0)[:end]
        if _PERSONAL_URL.search(url):
            return match.group(0)
        kept.append(url)
        return f"\ue000{len(kept) - 1}\ue001" + match.group(0)[end:]

    return _URL.sub(shield, text), kept


# ------------------------------------------------------------------------------------------------
# the corpus


@dataclass
class DebateRedaction:
    """What redaction found (or changed) in one debate."""

    debate_id: str
    counts: dict[str, int]
    texts_changed: dict[str, int]
    examples: list[dict[str, str]]
    written: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "debate_id": self.debate_id,
            "counts": self.counts,
            "texts_changed": self.texts_changed,
            "examples": self.examples,
            "written": self.written,
        }


def _snippet(original: str, matched: str, width: int = 30) -> str:
    at = original.find(matched)
    start, end = max(0, at - width), min(len(original), at + len(matched) + width)
    return ("…" if start else "") + original[start:end].replace("\n", " ") + ("…" if end < len(original) else "")


def _redact_table(
    con: Any, table: str, debate_id: str, patterns: Iterable[str] | None, *, originals: bool
) -> tuple[pd.DataFrame, Counter[str], list[dict[str, str]]]:
    """Redacted texts of one table, counts, and examples: the original around the first match when
    ``originals`` (a dry run), else the redacted text around its placeholder (never the original)."""
    rows = texts_to_redact(con, table, debate_id)
    changed, counts, examples = [], Counter(), []
    placeholders = {p.name: p.placeholder for p in PATTERNS}
    for key, text in rows:
        result = redact_text(text, patterns=patterns)
        if result.changed:
            changed.append({"key": key, "text": result.text})
            counts.update(result.counts)
            name, matched = result.matches[0]
            if originals:
                examples.append({"table": table, "pattern": name, "before": _snippet(text, matched)})
            else:
                examples.append({"table": table, "pattern": name, "after": _snippet(result.text, placeholders[name])})
    return pd.DataFrame(changed, columns=["key", "text"]), counts, examples


def redact_corpus(
    ws: Workspace,
    *,
    debate_ids: Sequence[str] | None = None,
    patterns: Iterable[str] | None = None,
    dry_run: bool = False,
    max_examples: int = 5,
) -> list[DebateRedaction]:
    """Redact the texts of ``debate_ids`` (default: every debate) in the corpus.

    Contributions, outputs and output units are rewritten in one transaction; each debate's ``extra``
    gets ``redaction``: version, time, patterns, counts per pattern of this run and in total, and texts
    changed per table. The corpus file is then rewritten whole, so the replaced texts are in none of its
    blocks. The examples returned show the redacted text around a placeholder (``after``); only with
    ``dry_run``, which writes nothing, do they show the original text around the first match
    (``before``). Unknown debate ids raise ``ValueError``.
    """
    patterns = list(PATTERN_NAMES if patterns is None else patterns)
    redact_text("", patterns=patterns)  # validates the names
    if dry_run:
        con = open_corpus(ws)
        try:
            return [
                _redact_debate(con, d, extra, patterns, max_examples, write=False)
                for d, extra in _chosen(con, debate_ids)
            ]
        finally:
            con.close()
    # rewrite: the file is written anew, so no free block keeps a replaced text (docs/privacy.md)
    with corpus_writer(ws, rewrite=True) as con:
        return [
            _redact_debate(con, d, extra, patterns, max_examples, write=True) for d, extra in _chosen(con, debate_ids)
        ]


def _chosen(con: Any, debate_ids: Sequence[str] | None) -> list[tuple[str, str | None]]:
    debates = debates_and_extras(con)
    if debate_ids is None:
        return debates
    known = dict(debates)
    missing = [d for d in debate_ids if d not in known]
    if missing:
        raise ValueError(f"unknown debates {missing}; the workspace has {sorted(known)}")
    return [(d, known[d]) for d in dict.fromkeys(debate_ids)]


def _redact_debate(
    con: Any, debate_id: str, extra_json: str | None, patterns: list[str], max_examples: int, *, write: bool
) -> DebateRedaction:
    counts: Counter[str] = Counter()
    changed: dict[str, int] = {}
    examples: list[dict[str, str]] = []
    for table in REDACTED_TABLES:
        frame, table_counts, table_examples = _redact_table(con, table, debate_id, patterns, originals=not write)
        counts.update(table_counts)
        changed[table] = len(frame)
        examples.extend(table_examples)
        if write and len(frame):
            write_redacted_texts(con, table, debate_id, frame)
    result_counts = {name: int(counts.get(name, 0)) for name in PATTERN_NAMES}
    if write:
        extra = json.loads(extra_json) if extra_json else {}
        previous = (extra.get("redaction") or {}).get("total_counts", {})
        extra["redaction"] = {
            "version": REDACTION_VERSION,
            "ran_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "patterns": patterns,
            "counts": result_counts,
            "total_counts": {n: int(previous.get(n, 0)) + c for n, c in result_counts.items()},
            "texts_changed": changed,
        }
        set_debate_extra(con, debate_id, json.dumps(extra, ensure_ascii=False, sort_keys=True))
    return DebateRedaction(debate_id, result_counts, changed, examples[:max_examples], written=write)
