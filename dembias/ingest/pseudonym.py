"""Keyed pseudonyms for author and voter identifiers (HMAC-SHA256).

The key never enters a database. It is read from ``$DEMBIAS_PSEUDONYM_KEY`` (hex or any string) when
set, else from ``pseudonym.key`` in the workspace folder, created with 32 random bytes and mode 0600 on
first use. Keep that file out of anything you publish: with it, a known raw id can be matched to its
pseudonym. Pseudonyms are scoped to a debate, so the same person cannot be linked across debates.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

KEY_ENV = "DEMBIAS_PSEUDONYM_KEY"


def load_key(key_path: Path) -> bytes:
    """The pseudonym key from the environment, else from ``key_path`` (created on first use)."""
    from_env = os.environ.get(KEY_ENV)
    if from_env:
        return from_env.encode("utf-8")
    if key_path.exists():
        return bytes.fromhex(key_path.read_text(encoding="ascii").strip())
    key_path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
    return key


def pseudonymise(key: bytes, debate_id: str, raw_id: str) -> str:
    """The pseudonym of ``raw_id`` within ``debate_id``: ``p_`` and 20 hex digits of HMAC-SHA256."""
    digest = hmac.new(key, f"{debate_id}\x1f{raw_id}".encode(), hashlib.sha256).hexdigest()
    return "p_" + digest[:20]


class Pseudonymiser:
    """Pseudonymises ids of one debate, hashing each distinct raw id once."""

    def __init__(self, key: bytes, debate_id: str) -> None:
        self._key = key
        self._debate_id = debate_id
        self._cache: dict[str, str] = {}

    def one(self, raw_id: object) -> str | None:
        """Pseudonym of one raw id; None for a missing id."""
        if raw_id is None or (isinstance(raw_id, float) and math.isnan(raw_id)) or raw_id == "":
            return None
        raw = str(raw_id)
        found = self._cache.get(raw)
        if found is None:
            found = self._cache[raw] = pseudonymise(self._key, self._debate_id, raw)
        return found

    def series(self, raw_ids: pd.Series | Iterable[object]) -> pd.Series:
        """Pseudonyms of a column of raw ids (missing stays missing)."""
        values = pd.Series(raw_ids, dtype="object")
        uniques = pd.unique(values)
        mapping = {u: self.one(u) for u in uniques}
        return values.map(mapping)
