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
        pdf_button = page.get_by_text("Audit report (PDF, A4)").first
        pdf_button.wait_for(timeout=30_000)
        with page.expect_download(timeout=120_000) as download:
            pdf_button.click()  # printed by Chromium in the server when clicked
        pdf = tmp_path / "report.pdf"
        download.value.save_as(pdf)
        assert pdf.read_bytes().startswith(b"%PDF-")


def test_the_report_of_a_summary_full_of_payloads_stays_inert(tmp_path_factory):
    """The payload workspace's report (XSS payloads in titles, texts, sentences, labels, model names) opened in
    Chromium: no dialog, no ``window.__xss``, no request of any kind (the file is self-contained)."""
    from dembias.read import queries
    from dembias.read.report import build_report, report_html
    from tests.payload_ws import DEBATE, build_payload_workspace
    from tests.test_report import assert_self_contained_and_escaped

    ws = build_payload_workspace(tmp_path_factory.mktemp("report-xss"))
    outputs = queries.outputs_table(ws, DEBATE)
    output_id = str(outputs.loc[outputs["task"] == "summary", "output_id"].iloc[0])
    page_html = report_html(build_report(ws, debate_id=DEBATE, output_id=output_id))
    assert_self_contained_and_escaped(page_html)
    path = tmp_path_factory.mktemp("report-xss-out") / "report.html"
    path.write_text(page_html, encoding="utf-8")
    dialogs, requests = [], []
    with chromium_page(1280, 900) as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.on("request", lambda r: requests.append(r.url))
        page.goto(path.as_uri(), wait_until="load")
        page.wait_for_timeout(500)
        executed = page.evaluate("() => window.__xss")
    assert not dialogs and executed is None
    assert requests == [path.as_uri()], requests
