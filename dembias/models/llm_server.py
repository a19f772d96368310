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

import math
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from dembias.errors import DembiasError
from dembias.models.causal_lm import DecodingParams, Generation
from dembias.models.openai_api import (
    ServerOptions,
    api_errors,
    context_of,
    find_tokenizer,
    match_model,
    openai_client_module,
    request_arguments,
    served_models,
    tokenize_on_server,
)

OPENAI_PREFIX = "openai:"
#: UTF-8 bytes per token of the conservative estimate used when the server exposes no tokenizer.
ESTIMATE_BYTES_PER_TOKEN = 2
#: Tokens kept free of the server's context for the chat template the client cannot see (role markers,
#: a default system prompt): :attr:`ServerModel.context_tokens` is the reported window less this.
TEMPLATE_RESERVE_TOKENS = 64
#: Context window assumed when the server does not report one (summaries use at most 2,048 anyway).
FALLBACK_CONTEXT = 4096


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


# --------------------------------------------------------------------------------------------------
# loading


def load_server_model(spec: str, *, options: ServerOptions | None = None) -> ServerModel:
    """Connect to the server, check it serves the model, find a tokenizer; ``spec`` is ``openai:<name>``."""
    options = options or ServerOptions()
    name = spec.removeprefix(OPENAI_PREFIX).strip()
    if not name:
        raise DembiasError("--model openai:<name> needs the model's name on the server, e.g. openai:gpt-4o-mini")
    openai = openai_client_module()
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
