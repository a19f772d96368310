"""The dashboard through Streamlit's AppTest: no exception, the demo debates listed with their counts."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dembias.demo import build_demo
from dembias.store import Workspace

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture(scope="module")
def demo_workspace(tmp_path_factory) -> Workspace:
    ws = Workspace(tmp_path_factory.mktemp("app") / "ws")
    build_demo(ws, progress=lambda _m: None)
    return ws


def test_overview_lists_the_five_demo_debates(demo_workspace, monkeypatch):
    monkeypatch.setenv("DEMBIAS_WORKSPACE", str(demo_workspace.root))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert set(table["Debate"]) == {
        "bowling-green",
        "klimarat-produktion-konsum",
        "nz-freshwater",
        "nz-ubi",
        "vtaiwan-uberx",
    }
    bg = table.set_index("Debate").loc["bowling-green"]
    assert (bg["Contributions"], bg["Accepted"], bg["Participants"]) == (896, 607, 2031)
    kr = table.set_index("Debate").loc["klimarat-produktion-konsum"]
    assert (kr["Contributions"], kr["Accepted"], kr["Participants"], kr["Vote groups"]) == (522, 277, 1116, 2)


def test_missing_workspace_is_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setenv("DEMBIAS_WORKSPACE", str(tmp_path / "none"))
    at = AppTest.from_file(APP, default_timeout=30).run()
    assert not at.exception
    assert "dembias demo" in at.error[0].value
