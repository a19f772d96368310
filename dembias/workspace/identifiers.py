"""SQL identifiers (table, column and alias names) written into statements: checked, then quoted."""

from __future__ import annotations

import re

from dembias.errors import StoreError

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def quote_identifier(name: str) -> str:
    """Return ``name`` double-quoted after checking it is a plain identifier (never user text)."""
    if not _IDENTIFIER.match(name):
        raise StoreError(f"refused identifier {name!r}: identifiers must match {_IDENTIFIER.pattern}")
    return f'"{name}"'
