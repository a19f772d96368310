"""Safe highlighting of flagged words in user text, for HTML display.

The text is escaped first, so nothing in it can become markup; only the ``<mark>`` tags added here are
HTML. Words are matched whole and case-insensitively (escaped the same way as the text).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable


def highlight_words(text: str, words: Iterable[str], *, css_class: str = "flag") -> str:
    """``text`` escaped for HTML, with every whole occurrence of ``words`` wrapped in ``<mark>``."""
    escaped = html.escape(text or "", quote=True)
    needles = sorted({html.escape(w, quote=True) for w in words if w and w.strip()}, key=len, reverse=True)
    if not needles:
        return escaped
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(n) for n in needles) + r")(?!\w)", re.IGNORECASE)
    css = html.escape(css_class, quote=True)
    return pattern.sub(lambda m: f'<mark class="{css}">{m.group(1)}</mark>', escaped)
