"""Talking to an OpenAI-compatible chat completions server: how to reach it (:class:`ServerOptions`), the
arguments of one request, the client's errors turned into :class:`~dembias.errors.DembiasError` with a fix,
the models it serves and the tokenize route it exposes. :mod:`dembias.models.llm_server` builds the model on it.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from dembias.errors import DembiasError
from dembias.models.causal_lm import DecodingParams
from dembias.validation import check_at_least

DEFAULT_KEY_ENV = "OPENAI_API_KEY"
OPENAI_URL = "https://api.openai.com/v1"
#: Tokenize endpoints tried at load, relative to the server root (the base URL without ``/v1``).
TOKENIZE_ROUTES = ("/extras/tokenize", "/tokenize")


@dataclass(frozen=True)
class ServerOptions:
    """How to reach an OpenAI-compatible server (nothing here is secret: the key stays in the env)."""

    base_url: str | None = None
    api_key_env: str = DEFAULT_KEY_ENV
    timeout_s: float = 120.0
    max_retries: int = 3
    requests_per_minute: float | None = None
    concurrency: int = 4
    price_in: float = 0.0
    price_out: float = 0.0

    def __post_init__(self) -> None:
        check_at_least("timeout_s", self.timeout_s, 0.1)
        check_at_least("max_retries", self.max_retries, 0)
        check_at_least("concurrency", self.concurrency, 1)
        check_at_least("price_in", self.price_in, 0)
        check_at_least("price_out", self.price_out, 0)
        if self.requests_per_minute is not None:
            check_at_least("requests_per_minute", self.requests_per_minute, 0.001)
        if not self.api_key_env.strip():
            raise DembiasError("--api-key-env must name an environment variable (e.g. OPENAI_API_KEY)")

    @property
    def url(self) -> str:
        """The base URL requests go to (``$OPENAI_BASE_URL`` or OpenAI's when none is given)."""
        return (self.base_url or os.environ.get("OPENAI_BASE_URL") or OPENAI_URL).rstrip("/")

    def manifest(self) -> dict[str, Any]:
        """What a run records about the server: the URL and the key's variable name, never the key."""
        return {
            "base_url": self.url,
            "api_key_env": self.api_key_env,
            "timeout_s": self.timeout_s,
            "max_retries": self.max_retries,
            "requests_per_minute": self.requests_per_minute,
            "concurrency": self.concurrency,
            "price_in_per_1m": self.price_in,
            "price_out_per_1m": self.price_out,
        }

    def cost(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        """Cost in USD of that many tokens at the given prices, with a note when no price was given."""
        usd = (prompt_tokens * self.price_in + completion_tokens * self.price_out) / 1_000_000
        note = None
        if not (self.price_in or self.price_out):
            note = "no --price-in/--price-out given: cost counted as 0 (e.g. a local server)"
        return {"cost_usd": round(usd, 6), "cost_note": note}


def request_arguments(model: str, messages: list[dict[str, str]], decoding: DecodingParams) -> dict[str, Any]:
    """The chat completions arguments for one conversation (greedy is ``temperature=0``; the seed always)."""
    kwargs: dict[str, Any] = {
        "model": model,
        "messages": messages,
        "max_tokens": decoding.max_new_tokens,
        "seed": decoding.seed,
        "temperature": decoding.temperature if decoding.do_sample else 0.0,
    }
    if decoding.do_sample:
        kwargs["top_p"] = decoding.top_p
    if decoding.repetition_penalty != 1.0:
        # not in OpenAI's API: vLLM reads repetition_penalty, llama.cpp's servers repeat_penalty
        kwargs["extra_body"] = {
            "repetition_penalty": decoding.repetition_penalty,
            "repeat_penalty": decoding.repetition_penalty,
        }
    return kwargs


# --------------------------------------------------------------------------------------------------
# errors


def openai_client_module() -> Any:
    """The ``openai`` package (imported on first use), or a DembiasError saying how to install it."""
    try:
        import openai
    except ImportError as exc:
        raise DembiasError("--model openai:<name> needs the openai client: pip install openai") from exc
    return openai


@contextlib.contextmanager
def api_errors(options: ServerOptions, *, model: str) -> Iterator[None]:
    """Turn the client's errors into DembiasErrors that name the URL, the key's variable or the model."""
    openai = openai_client_module()
    url = options.url
    try:
        yield
    except openai.APITimeoutError as exc:
        raise DembiasError(
            f"{url} did not answer within {options.timeout_s:g} s (after {options.max_retries} retries); "
            "raise --timeout or lower --concurrency"
        ) from exc
    except openai.APIConnectionError as exc:
        raise DembiasError(
            f"cannot reach the server at {url} ({exc.__cause__ or exc}); is it running, and is --base-url right?"
        ) from exc
    except openai.AuthenticationError as exc:
        raise DembiasError(_key_message(options, url)) from exc
    except openai.NotFoundError as exc:
        raise DembiasError(f"{url} answered 404 for model {model!r}: {_message(exc)}") from exc
    except openai.APIStatusError as exc:
        raise DembiasError(f"{url} answered {exc.status_code} for model {model!r}: {_message(exc)}") from exc


def _key_message(options: ServerOptions, url: str) -> str:
    if not os.environ.get(options.api_key_env):
        return f"{url} refused the request (401): ${options.api_key_env} is not set; export the API key there"
    return f"{url} refused the API key in ${options.api_key_env} (401): check that it is valid for this server"


def _message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
        if isinstance(inner, str):
            return inner[:300]
    return str(exc)[:300]


def served_models(client: Any, options: ServerOptions) -> list[dict[str, Any]] | None:
    """The server's ``/v1/models`` entries, or None when it does not list its models (404)."""
    openai = openai_client_module()
    try:
        with api_errors(options, model="(listing models)"):
            page = client.models.list()
    except DembiasError as exc:
        if isinstance(exc.__cause__, openai.NotFoundError):
            return None
        raise
    return [m.model_dump() if hasattr(m, "model_dump") else dict(m) for m in page.data]


def match_model(name: str, served: list[dict[str, Any]] | None, *, url: str) -> dict[str, Any] | None:
    """The entry of ``name`` among the served models (Ollama's ``name:latest`` counts), else a clear error."""
    if served is None:
        return None
    by_id = {str(m.get("id")): m for m in served}
    for candidate in (name, f"{name}:latest"):
        if candidate in by_id:
            return by_id[candidate]
    listed = ", ".join(sorted(by_id)[:20]) or "none"
    raise DembiasError(f"model {name!r} is not served by {url}; it serves: {listed} (use --model openai:<one of them>)")


def context_of(entry: dict[str, Any] | None) -> int | None:
    """Context window a ``/v1/models`` entry reports (vLLM's ``max_model_len``, llama.cpp's ``meta``)."""
    if not entry:
        return None
    meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
    for value in (entry.get("max_model_len"), entry.get("context_length"), meta.get("n_ctx"), meta.get("n_ctx_train")):
        if isinstance(value, int) and value > 0:
            return value
    return None


def find_tokenizer(options: ServerOptions, model: str) -> str | None:
    """The first tokenize route that answers with tokens, or None (then tokens are estimated)."""
    key = os.environ.get(options.api_key_env, "")
    for route in TOKENIZE_ROUTES:
        if tokenize_on_server(options, key, route, model, "Hello world") is not None:
            return route
    return None


def tokenize_on_server(options: ServerOptions, key: str, route: str, model: str, text: str) -> list[int] | None:
    """Token ids of ``text`` from the server's tokenize route, or None when the route does not answer."""
    root = options.url.removesuffix("/v1")
    # one body for every known server: llama-cpp-python reads "input", llama.cpp "content", vLLM "prompt"
    body = {"model": model, "input": text, "content": text, "prompt": text, "add_special_tokens": False}
    request = urllib.request.Request(
        root + route,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=min(options.timeout_s, 30)) as response:
            payload = json.loads(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError, ValueError):
        return None
    tokens = payload.get("tokens") if isinstance(payload, dict) else None
    if isinstance(tokens, list) and all(isinstance(t, int) for t in tokens):
        return tokens
    return None
