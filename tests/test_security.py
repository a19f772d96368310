"""What a second viewer, a bad file, a crash or another local user must not be able to break, read or run.

Each test reproduces one finding of the security review (issue 20) on a small hand-made workspace; the
browser-level ones live in tests/test_security_browser.py.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
from pathlib import Path

import plotly

# --------------------------------------------------------------------------------------------------
# the map component's plotly.js


def test_plotly_js_is_served_from_the_installed_package_never_a_shared_temp_folder(tmp_path, monkeypatch):
    """A local user who creates the old predictable temp folder first cannot plant a script or a symlink."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    real = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    planted = tmp_path / f"dembias-plotly-{plotly.__version__}-{os.getuid()}"
    planted.mkdir()
    evil = b"alert(1);//" + b" " * (len(real) - len(b"alert(1);//"))  # same size as the real file
    (planted / "plotly.min.js").write_bytes(evil)
    victim = tmp_path / "victim"
    victim.write_text("private")
    victim.chmod(0o600)
    (planted / f".plotly.min.js.{os.getpid()}").symlink_to(victim)

    import pages.map_chart as map_chart

    map_chart = importlib.reload(map_chart)
    served = map_chart.assets_folder() / "plotly.min.js"
    assert hashlib.sha256(served.read_bytes()).digest() == hashlib.sha256(real).digest()
    assert not str(map_chart.assets_folder()).startswith(str(tmp_path))
    assert victim.read_text() == "private"  # the symlink was not followed
    assert (planted / "plotly.min.js").read_bytes() == evil  # nothing of ours was written there


def test_a_tampered_plotly_js_is_refused(tmp_path, monkeypatch):
    """The served file must match the hash pip recorded for it: a changed file stops the page."""
    import pages.map_chart as map_chart

    copy = tmp_path / "package_data" / "plotly.min.js"
    copy.parent.mkdir()
    copy.write_bytes(b"alert(1)")
    monkeypatch.setattr(map_chart, "PLOTLY_JS", copy)
    monkeypatch.setattr(map_chart, "_recorded_sha256", lambda: "O24V1F27f8pb0glCkelh3cVHLNiHAJ5gCaVtq2aNch8")
    try:
        map_chart.assets_folder()
    except RuntimeError as exc:
        assert "differs" in str(exc)
    else:
        raise AssertionError("a tampered plotly.min.js was accepted")
    link = tmp_path / "package_data" / "link.js"
    link.symlink_to(copy)
    monkeypatch.setattr(map_chart, "PLOTLY_JS", link)
    try:
        map_chart.assets_folder()
    except RuntimeError as exc:
        assert "not a regular file" in str(exc)
    else:
        raise AssertionError("a symlinked plotly.min.js was accepted")
