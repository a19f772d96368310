"""In Chromium: the Across debates page renders its finding and matrix; the Overview offers the audit report."""

from __future__ import annotations

import pytest

from tests.browser import chromium_page, needs_chromium, screenshot, serve_dashboard

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_chromium]


def test_across_page_and_report_buttons(demo_ws, tmp_path):
    with serve_dashboard(demo_ws.root) as base, chromium_page(1280, 900) as page:
        page.goto(f"{base}/across", wait_until="networkidle")
        page.get_by_text("Across debates and models").first.wait_for(timeout=90_000)
        page.get_by_text("SmolLM2-135M-Instruct is worse than every baseline").first.wait_for(timeout=90_000)
        page.get_by_text("baselines' band (min–max)").first.wait_for(state="attached", timeout=30_000)
        page.get_by_text("By country and language, across debates").first.wait_for(timeout=30_000)
        screenshot(page, "across-debates")
        page.goto(f"{base}/?debate=nz-ubi", wait_until="networkidle")
        button = page.get_by_text("Audit report (HTML)").first
        button.wait_for(timeout=90_000)
        with page.expect_download(timeout=90_000) as download:
            button.click()
        path = tmp_path / "report.html"
        download.value.save_as(path)
        assert download.value.suggested_filename.startswith("audit_nz-ubi_")
        text = path.read_text(encoding="utf-8")
        assert text.startswith("<!DOCTYPE html>") and "Finding." in text
        page.get_by_text("Audit report (PDF, A4)").first.wait_for(timeout=30_000)
