"""Printing the report's HTML to an A4 PDF in headless Chromium, driven by Playwright, with every network request refused."""

from __future__ import annotations

import os
from pathlib import Path

from dembias.read.report.data import ReportError

#: Debian's Chromium (override with $DEMBIAS_CHROMIUM); Playwright drives it, nothing is downloaded.
CHROMIUM = os.environ.get("DEMBIAS_CHROMIUM", "/usr/bin/chromium")


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking"]


def chromium_available(chromium: str = CHROMIUM) -> bool:
    """Whether a PDF can be printed here (the Chromium binary and the playwright package are both present)."""
    import importlib.util

    return Path(chromium).is_file() and importlib.util.find_spec("playwright") is not None


def html_to_pdf(document: str, *, chromium: str = CHROMIUM) -> bytes:
    """Print an HTML document to A4 PDF in headless Chromium (Playwright); every network request is refused.

    Raises :class:`ReportError` when Playwright or the Chromium binary is missing.
    """
    if not Path(chromium).is_file():
        raise ReportError(
            f"cannot print to PDF: no Chromium at {chromium} (install Debian's chromium, or set $DEMBIAS_CHROMIUM); "
            "the HTML report (--format html) needs no browser"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise ReportError(
            "cannot print to PDF: the playwright package is not installed (pip install playwright)"
        ) from exc
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", lambda route: route.abort())  # a self-contained file needs nothing else
            page.set_content(document, wait_until="load")
            page.evaluate("document.fonts.ready")
            return page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
        finally:
            browser.close()
