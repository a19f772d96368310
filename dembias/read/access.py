"""An optional password gate for the dashboard (pure logic; the form lives in app.py).

Set ``DEMBIAS_PASSWORD_SHA256`` to the hex SHA-256 of a shared password and the dashboard asks for it
before showing anything. This is a light gate for a demo on a trusted network, not user management:
for partner demos use ``st.login`` (OIDC) behind a TLS reverse proxy (docs/deployment.md).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping

ENV_VAR = "DEMBIAS_PASSWORD_SHA256"
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def hash_password(password: str) -> str:
    """Hex SHA-256 of ``password`` (UTF-8), the value to put in ``DEMBIAS_PASSWORD_SHA256``."""
    return hashlib.sha256(password.encode("utf-8")).hexdigest()


def expected_digest(environ: Mapping[str, str] | None = None) -> str | None:
    """The configured digest (lowercase hex), or None when no password is required.

    Raises ValueError when the variable is set but is not 64 hex digits, so a typo fails closed
    instead of silently opening the dashboard.
    """
    value = (os.environ if environ is None else environ).get(ENV_VAR)
    if value is None or not value.strip():
        return None
    value = value.strip()
    if not _HEX64.match(value):
        raise ValueError(f"{ENV_VAR} must be the 64-digit hex SHA-256 of the password")
    return value.lower()


def password_ok(password: str, digest: str) -> bool:
    """Whether ``password`` hashes to ``digest`` (constant-time comparison)."""
    return hmac.compare_digest(hash_password(password or "").encode("ascii"), digest.lower().encode("ascii"))
