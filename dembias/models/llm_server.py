"""Generate through an OpenAI-compatible chat completions server (``--model openai:<name>``).

vLLM, TGI, Ollama, llama.cpp's server, llama-cpp-python's server, Mistral and OpenAI all speak the
``/v1/chat/completions`` API. :class:`ServerModel` has the interface of
:class:`dembias.models.causal_lm.LoadedModel` (``render``, ``count_tokens``, ``truncate``, ``generate``), so a
server model goes through the same prompts, map-reduce, citation parsing, checkpoints and output
records as a local one. It uses the maintained ``openai`` client:

* **Key**: read from the environment variable named by ``api_key_env`` (default ``OPENAI_API_KEY``);
  only the variable's *name* is recorded, never the key. A local server needs none.
* **Retries**: the client's own (``max_retries``; exponential backoff from 0.5 s to 8 s with jitter, on
  connection errors, 408, 409, 429 and 5xx, honouring ``Retry-After``). **Timeout**: per request.
* **Rate limit**: ``requests_per_minute`` spaces request starts evenly across threads.
* **Concurrency**: the conversations of one ``generate`` call are sent by a thread pool of at most
  ``concurrency`` threads; answers come back in input order.
* **Seeds**: ``seed`` is sent with every request (greedy decoding is ``temperature=0``) and recorded.
* **Tokens**: prompt and completion tokens come from each answer's ``usage`` field. Chunk packing of
  summaries counts tokens with the server's tokenizer when it exposes one (llama-cpp-python's
  ``/extras/tokenize``; llama.cpp's and vLLM's ``/tokenize``), else with a conservative estimate of
  one token per :data:`ESTIMATE_BYTES_PER_TOKEN` bytes of UTF-8 (real tokenizers average about 4 bytes
  a token on English and about 3 on Chinese, so the estimate over-counts and chunks stay in budget).
* **Cost**: ``price_in`` / ``price_out`` in USD per million prompt / completion tokens; 0 (with a note
  saying so) when not given, e.g. for a local server.
* **Errors**: an unreachable server (naming the URL), a refused key (401) and a model the server does
  not serve (naming the models it does) are :class:`~dembias.errors.DembiasError` with a fix.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from dembias.errors import DembiasError
from dembias.models.causal_lm import DecodingParams, Generation
from dembias.validation import check_at_least

OPENAI_PREFIX = "openai:"
DEFAULT_KEY_ENV = "OPENAI_API_KEY"
OPENAI_URL = "https://api.openai.com/v1"
#: UTF-8 bytes per token of the conservative estimate used when the server exposes no tokenizer.
ESTIMATE_BYTES_PER_TOKEN = 2
#: Tokens kept free of the server's context for the chat template the client cannot see (role markers,
#: a default system prompt): :attr:`ServerModel.context_tokens` is the reported window less this.
TEMPLATE_RESERVE_TOKENS = 64
#: Context window assumed when the server does not report one (summaries use at most 2,048 anyway).
FALLBACK_CONTEXT = 4096
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


class RateLimiter:
    """Spaces request starts at least ``60 / per_minute`` seconds apart, across threads."""

    def __init__(self, per_minute: float | None) -> None:
        self.interval = 60.0 / per_minute if per_minute else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        """Block until this caller's slot comes."""
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)


@dataclass
class ServerModel:
    """A model behind an OpenAI-compatible server, with :class:`~dembias.models.causal_lm.LoadedModel`'s interface."""

    name: str
    revision: str
    spec: str
    context_tokens: int
    options: ServerOptions
    client: Any
    tokenize_route: str | None = None
    device: str = "server"
    limiter: RateLimiter = field(init=False)
    seen: dict[str, set[str]] = field(init=False)
    _counts: dict[str, int] = field(init=False)
    _lock: threading.Lock = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = RateLimiter(self.options.requests_per_minute)
        self.seen = {"response_models": set(), "system_fingerprints": set()}
        self._counts = {}
        self._lock = threading.Lock()

    # -- the LoadedModel interface ------------------------------------------------------------------

    def render(self, messages: list[dict[str, str]]) -> str:
        """A plain rendering of chat messages (the server applies its own template: TEMPLATE_RESERVE_TOKENS)."""
        return "\n\n".join(f"{m['role']}: {m['content']}" for m in messages)

    def count_tokens(self, text: str) -> int:
        """Tokens of ``text``: the server's tokenizer when it has one, else the conservative estimate."""
        with self._lock:
            if text in self._counts:
                return self._counts[text]
        n = self._server_count(text) if self.tokenize_route else None
        if n is None:
            n = estimate_tokens(text)
        with self._lock:
            self._counts[text] = n
        return n

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` (cut proportionally, then re-counted) within ``max_tokens``."""
        n = self.count_tokens(text)
        while n > max_tokens and len(text) > 1:
            text = text[: max(1, int(len(text) * max_tokens / n * 0.95))]
            n = self.count_tokens(text)
        return text

    def generate(self, conversations: Sequence[list[dict[str, str]]], *, decoding: DecodingParams) -> list[Generation]:
        """Answer each conversation (one request each, at most ``concurrency`` at a time), in order."""
        start = time.perf_counter()
        workers = min(self.options.concurrency, len(conversations)) or 1
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dembias-llm") as pool:
            answers = list(pool.map(lambda m: self._complete(m, decoding), conversations))
        seconds = time.perf_counter() - start
        return [
            Generation(
                text=text,
                prompt_tokens=prompt,
                new_tokens=completion,
                seconds=seconds / len(conversations),
                batch_seconds=seconds,
                batch_size=len(conversations),
            )
            for text, prompt, completion in answers
        ]

    # -- run records ----------------------------------------------------------------------------------

    def run_info(self) -> dict[str, Any]:
        """What every output of a run records about the server (no key)."""
        return {
            "engine": "openai",
            "server_model_id": self.name,
            "token_count": f"server {self.tokenize_route}" if self.tokenize_route else estimate_note(),
            **self.options.manifest(),
        }

    def run_facts(self) -> dict[str, Any]:
        """What the server reported while answering (model ids and system fingerprints seen)."""
        with self._lock:
            return {key: sorted(values) for key, values in self.seen.items()}

    def cost(self, prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
        """Cost of that many tokens at this run's prices."""
        return self.options.cost(prompt_tokens, completion_tokens)

    # -- requests -------------------------------------------------------------------------------------

    def _complete(self, messages: list[dict[str, str]], decoding: DecodingParams) -> tuple[str, int, int]:
        self.limiter.wait()
        kwargs = request_arguments(self.name, messages, decoding)
        with api_errors(self.options, model=self.name):
            response = self.client.chat.completions.create(**kwargs)
        if not response.choices:
            raise DembiasError(f"{self.options.url} answered without choices for model {self.name!r}")
        text = (response.choices[0].message.content or "").strip()
        usage = response.usage
        prompt = usage.prompt_tokens if usage else self.count_tokens(self.render(messages))
        completion = usage.completion_tokens if usage else self.count_tokens(text)
        with self._lock:
            if response.model:
                self.seen["response_models"].add(str(response.model))
            if getattr(response, "system_fingerprint", None):
                self.seen["system_fingerprints"].add(str(response.system_fingerprint))
        return text, int(prompt or 0), int(completion or 0)

    def _server_count(self, text: str) -> int | None:
        tokens = tokenize_on_server(self.options, self._api_key(), self.tokenize_route or "", self.name, text)
        return None if tokens is None else len(tokens)

    def _api_key(self) -> str:
        return os.environ.get(self.options.api_key_env, "")


def estimate_tokens(text: str) -> int:
    """Conservative token count without a tokenizer: one token per ESTIMATE_BYTES_PER_TOKEN UTF-8 bytes."""
    return math.ceil(len(text.encode("utf-8")) / ESTIMATE_BYTES_PER_TOKEN)


def estimate_note() -> str:
    """How tokens are counted when the server exposes no tokenizer (recorded with each output)."""
    return f"estimate: 1 token per {ESTIMATE_BYTES_PER_TOKEN} UTF-8 bytes (over-counts; the server has no tokenizer)"


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


def _openai() -> Any:
    try:
        import openai
    except ImportError as exc:
        raise DembiasError("--model openai:<name> needs the openai client: pip install openai") from exc
    return openai


@contextlib.contextmanager
def api_errors(options: ServerOptions, *, model: str) -> Iterator[None]:
    """Turn the client's errors into DembiasErrors that name the URL, the key's variable or the model."""
    openai = _openai()
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


# --------------------------------------------------------------------------------------------------
# loading


def load_server_model(spec: str, *, options: ServerOptions | None = None) -> ServerModel:
    """Connect to the server, check it serves the model, find a tokenizer; ``spec`` is ``openai:<name>``."""
    options = options or ServerOptions()
    name = spec.removeprefix(OPENAI_PREFIX).strip()
    if not name:
        raise DembiasError("--model openai:<name> needs the model's name on the server, e.g. openai:gpt-4o-mini")
    openai = _openai()
    client = openai.OpenAI(
        base_url=options.url,
        api_key=os.environ.get(options.api_key_env) or "no-key",  # local servers need none; the client wants one
        timeout=options.timeout_s,
        max_retries=options.max_retries,
    )
    served = served_models(client, options)
    entry = match_model(name, served, url=options.url)
    context = (context_of(entry) or FALLBACK_CONTEXT) - TEMPLATE_RESERVE_TOKENS
    served_name = str(entry.get("id", name)) if entry else name
    route = find_tokenizer(options, served_name)
    return ServerModel(
        name=served_name,
        revision=f"served by {options.url}",
        spec=f"{OPENAI_PREFIX}{name}",
        context_tokens=context,
        options=options,
        client=client,
        tokenize_route=route,
    )


def served_models(client: Any, options: ServerOptions) -> list[dict[str, Any]] | None:
    """The server's ``/v1/models`` entries, or None when it does not list its models (404)."""
    openai = _openai()
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
