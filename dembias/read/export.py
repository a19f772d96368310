"""Exports that are safe to open in a spreadsheet: the one guard every CSV of dembias goes through.

The dashboard's tables have no other export: Streamlit's own "Download as CSV" in the dataframe toolbar
is turned off (``client.disableDataExport``, see pages/shared.py), because it never goes through here.
"""

from __future__ import annotations

import json
import re
import unicodedata

import numpy as np
import pandas as pd

#: A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets (OWASP's list,
#: plus ``|`` for DDE and ``%``, which some spreadsheets read as a formula start).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%", "％", "＝", "＋", "－", "＠", "｜")
#: Characters a spreadsheet may fold into a formula sign: NFKC folds fullwidth and small forms
#: (``＋ ＝ － ＠ ﹢ ﹦ ﹣ ﹫``) into ASCII; these have no NFKC fold but are read as a minus or a plus.
_LOOKALIKES = {"\u2212": "-", "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u02d6": "+"}
_FORMULA_START = frozenset("=+-@|%\t\r\n")
#: Invisible characters a spreadsheet skips before it looks at the first sign.
_INVISIBLE = re.compile(r"^[\s\u00a0\u200b-\u200f\u2028-\u202f\u2060-\u2064\ufeff\x00-\x1f\x7f]+")
_BARE_CR = re.compile(r"\r(?!\n)")


def is_formula(text: str) -> bool:
    """Whether a spreadsheet could read ``text`` as a formula (after invisible characters and lookalikes)."""
    if not text:
        return False
    if text[0] in _FORMULA_START:
        return True
    start = _INVISIBLE.sub("", text)[:1]
    if not start:
        return False
    folded = _LOOKALIKES.get(start, unicodedata.normalize("NFKC", start)[:1])
    return folded in _FORMULA_START


def neutralise_cell(value: object) -> object:
    """Make a text cell inert in a spreadsheet; other values are returned unchanged.

    A text that a spreadsheet would run as a formula (it starts with ``= + - @ | %``, a tab or a line break,
    a fullwidth or small form of these, a minus or dash lookalike, or any of them after invisible
    characters) gets a leading apostrophe (OWASP's advice). A bare carriage return inside a text becomes a
    line feed: a CSV writer quotes a cell holding a line feed, but not one holding only a CR, which some
    spreadsheets then take as the end of the row, so the next line would start a cell of its own.
    """
    if not isinstance(value, str):
        return value
    if "\r" in value:
        value = _BARE_CR.sub("\n", value)
    return "'" + value if is_formula(value) else value


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells (and column names) cannot run as spreadsheet formulas."""
    safe = frame.copy()
    for column in safe.columns:
        if isinstance(safe[column].dtype, pd.CategoricalDtype):
            safe[column] = safe[column].astype(object)
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise_cell)
    safe.columns = [neutralise_cell(str(c)) for c in safe.columns]
    return safe


def _json_cell(value: object) -> object:
    """A list, tuple, array or dict cell as a JSON string; anything else unchanged."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, list | tuple | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


def with_json_lists(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose list-like cells are JSON strings (``["a", "b"]``), readable back by any tool,
    instead of Python's ``['a' 'b']``; numeric columns stay numeric."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(_json_cell)
    return out


def to_csv_bytes(frame: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, so spreadsheets detect the encoding) of a spreadsheet-safe copy, lists as JSON."""
    return spreadsheet_safe(with_json_lists(frame)).to_csv(index=False).encode("utf-8-sig")
