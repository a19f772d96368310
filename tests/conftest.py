"""Shared fixtures: the demo workspace (built once per session) and a deterministic fake embedder."""

from __future__ import annotations

import os

import pytest

from dembias.jobs.demo import build_demo
from dembias.models.embedders import PLUGINS_ENV
from dembias.workspace.folder import Workspace
from tests.fakes import FakeEmbedder

# the fake embedder (``--embedder fake``) for this process and for workers and CLIs started as subprocesses
os.environ[PLUGINS_ENV] = ",".join(filter(None, [os.environ.get(PLUGINS_ENV), "tests.fakes"]))


@pytest.fixture(scope="session")
def demo_ws(tmp_path_factory) -> Workspace:
    """The demo workspace, built once into a temporary folder (treat it as read-only)."""
    ws = Workspace(tmp_path_factory.mktemp("demo") / "ws")
    build_demo(ws, progress=lambda _m: None)
    return ws


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    """Embeds ``"topic::text"`` as the topic's direction plus seeded noise (16 dimensions)."""
    return FakeEmbedder(dim=16, noise=0.5, seed=0)


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory):
    """A real llama.cpp OpenAI-compatible server (llama-cpp-python) serving SmolLM2 on 127.0.0.1 for the
    session; skipped with the reason when llama-cpp-python is not installed."""
    from tests.llama_server import SKIP_REASON, llama_cpp_available, start_llama_server

    if not llama_cpp_available():
        pytest.skip(SKIP_REASON)
    with start_llama_server(tmp_path_factory.mktemp("llama-server")) as server:
        yield server
