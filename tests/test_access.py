"""Access: the dashboard listens on loopback only, and an optional password gate shows nothing before it."""

from __future__ import annotations

import socket
import tomllib
import urllib.request
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dembias.read import access
from dembias.workspace.folder import Workspace
from tests.browser import serve_dashboard
from tests.payload_ws import build_payload_workspace

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def test_config_and_makefile_bind_loopback():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    assert config["server"]["address"] == "127.0.0.1"
    assert config["browser"]["gatherUsageStats"] is False
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    run_lines = [line for line in makefile.splitlines() if "streamlit run" in line]
    assert run_lines and all("--server.address 127.0.0.1" in line for line in run_lines)


def _other_local_address() -> str | None:
    """An address of this machine that is not loopback (None when it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.255.255.255", 1))  # no packet is sent: this only picks a route
            address = sock.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") or address == "0.0.0.0" else address


@pytest.mark.slow
def test_served_dashboard_is_not_reachable_on_another_interface(tmp_path):
    other = _other_local_address()
    if other is None:
        pytest.skip("this machine has no non-loopback address")
    ws = Workspace(tmp_path / "ws")
    with serve_dashboard(ws.root) as base:
        port = int(base.rsplit(":", 1)[1])
        with urllib.request.urlopen(f"{base}/_stcore/health", timeout=5) as response:
            assert response.status == 200
        with socket.socket() as sock:
            sock.settimeout(3)
            assert sock.connect_ex((other, port)) != 0, f"dashboard reachable on {other}:{port}"


def test_password_logic():
    digest = access.hash_password("correct horse")
    assert digest == "4104d36f8da2c254349f85836793ebe029e0c957063a34c91c2e9203187b5631"
    assert access.password_ok("correct horse", digest)
    assert access.password_ok("correct horse", digest.upper())
    assert not access.password_ok("correct horse ", digest)
    assert not access.password_ok("", digest)
    assert access.expected_digest({}) is None
    assert access.expected_digest({access.ENV_VAR: "  "}) is None
    assert access.expected_digest({access.ENV_VAR: digest.upper()}) == digest
    with pytest.raises(ValueError, match="64-digit hex"):
        access.expected_digest({access.ENV_VAR: "hunter2"})


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory):
    return build_payload_workspace(tmp_path_factory.mktemp("access"))


def _app(monkeypatch, ws, password_digest: str | None) -> AppTest:
    monkeypatch.setenv("DEMBIAS_WORKSPACE", str(ws.root))
    if password_digest is None:
        monkeypatch.delenv(access.ENV_VAR, raising=False)
    else:
        monkeypatch.setenv(access.ENV_VAR, password_digest)
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _shows_data(at: AppTest) -> bool:
    return bool(at.dataframe) or any("Scorecard" in s.value for s in at.subheader) or bool(at.sidebar.selectbox)


@pytest.mark.slow
def test_password_gate_blocks_until_the_right_password(small_demo, monkeypatch):
    at = _app(monkeypatch, small_demo, access.hash_password("s3cret"))
    assert at.text_input[0].label == "Password"
    assert not _shows_data(at)

    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Wrong password."]
    assert not _shows_data(at)

    # another page by URL: still the gate
    at.switch_page("pages/map.py").run()
    assert not _shows_data(at) and at.text_input[0].label == "Password"

    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    assert not at.exception
    assert _shows_data(at)
    assert not at.error


@pytest.mark.slow
def test_without_password_the_overview_shows_and_a_bad_setting_fails_closed(small_demo, monkeypatch):
    at = _app(monkeypatch, small_demo, None)
    assert _shows_data(at) and not at.text_input
    at = _app(monkeypatch, small_demo, "not-a-digest")
    assert not _shows_data(at)
    assert "locked" in at.error[0].value
