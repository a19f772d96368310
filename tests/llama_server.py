"""A real OpenAI-compatible server for tests: llama-cpp-python's server on 127.0.0.1 serving SmolLM2's GGUF.

Not a fixture module: ``tests/conftest.py`` wraps :func:`start_llama_server` in the session fixture
``llama_server``; tests that need a second server (e.g. one with an API key) call it directly.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: The model name the test server answers to (``--model openai:smollm2``).
ALIAS = "smollm2"
SKIP_REASON = (
    "llama-cpp-python is not installed, so there is no real OpenAI-compatible server to test against: "
    'pip install "dembias[server]" (see .ci/run for the build flags)'
)


def llama_cpp_available() -> bool:
    """Whether llama-cpp-python (with its server) can be imported."""
    return importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("fastapi") is not None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class LlamaServer:
    """A running server: its base URL (``.../v1``), the model alias, and its log file."""

    base_url: str
    alias: str
    log: Path


@contextlib.contextmanager
def start_llama_server(log_dir: Path, *, api_key: str | None = None, timeout_s: float = 180) -> Iterator[LlamaServer]:
    """Start ``python -m llama_cpp.server`` on a free port, wait for ``/v1/models``, stop it afterwards."""
    from dembias.models.causal_lm import smollm2_gguf

    port = free_port()
    log = log_dir / f"llama-server-{port}.log"
    command = [
        sys.executable, "-m", "llama_cpp.server",
        "--model", str(smollm2_gguf()), "--model_alias", ALIAS,
        "--host", "127.0.0.1", "--port", str(port),
        "--n_ctx", "2048", "--n_threads", "2", "--seed", "0", "--verbose", "False",
    ]  # fmt: skip
    if api_key:
        command += ["--api_key", api_key]
    with open(log, "wb") as handle:
        process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    try:
        base_url = f"http://127.0.0.1:{port}/v1"
        _wait_until_up(base_url, process, log, api_key=api_key, timeout_s=timeout_s)
        yield LlamaServer(base_url=base_url, alias=ALIAS, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def _wait_until_up(
    base_url: str, process: subprocess.Popen, log: Path, *, api_key: str | None, timeout_s: float
) -> None:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the llama.cpp server exited ({process.returncode}):\n{_tail(log)}")
        try:
            request = urllib.request.Request(base_url + "/models", headers=headers)
            with urllib.request.urlopen(request, timeout=5) as response:
                if any(m.get("id") == ALIAS for m in json.loads(response.read())["data"]):
                    return
        except (urllib.error.URLError, OSError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the llama.cpp server did not answer /v1/models within {timeout_s} s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-3000:]
