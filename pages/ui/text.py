"""User text made safe inside the markdown of a page: :func:`plain` for ids, names and labels, :func:`command` for
shell commands."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()<>#+!|~$:])")


def plain(text: object) -> str:
    """User text (ids, model names, labels) safe inside a markdown string: markdown characters escaped.

    Streamlit already escapes raw HTML in markdown, but would still render a user's ``![x](http://...)``
    as an image (a request to a foreign host), a link, or ``:material/...:`` and ``$...$``.
    """
    return _MARKDOWN.sub(r"\\\1", str(text))


def command(text: str) -> str:
    """A shell command for markdown: a code span (literal), unless a backtick would end it early."""
    return plain(text) if "`" in text else f"`{text}`"
