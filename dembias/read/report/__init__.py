"""The one-page audit report of one summary: its data (:func:`build_report`), a self-contained HTML file
(:func:`report_html`) and its PDF printed by headless Chromium (:func:`html_to_pdf`).

The public API of the package, listed here on purpose (the command line, the dashboard and the tests import
these names from ``dembias.read.report``). The modules hold:

- :mod:`.data`: what the report shows, read from the debate's runs (:class:`AuditReport`, :func:`build_report`);
- :mod:`.document`: the report as one self-contained HTML document;
- :mod:`.pdf`: printing that document to PDF in headless Chromium;
- :mod:`.files`: writing the report to a file, and the file's default name.
"""

from dembias.read.report.data import AuditReport, ReportError, build_report
from dembias.read.report.document import report_html
from dembias.read.report.files import default_file_name, write_report
from dembias.read.report.pdf import chromium_available, html_to_pdf

__all__ = [
    "AuditReport",
    "ReportError",
    "build_report",
    "chromium_available",
    "default_file_name",
    "html_to_pdf",
    "report_html",
    "write_report",
]
