"""Generation through an OpenAI-compatible server, tested against a real one (llama-cpp-python's server
serving SmolLM2's GGUF on 127.0.0.1, fixture ``llama_server``), and the vLLM engine's clean refusal
without vLLM or a GPU."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from dembias.errors import DembiasError
from dembias.generation.summaries import parse_citations
from dembias.ingest import ingest_contributions
from dembias.ingest.outputs import read_outputs_jsonl
from dembias.models.causal_lm import DecodingParams, load_generator
from dembias.models.llm_server import RateLimiter, load_server_model
from dembias.models.openai_api import ServerOptions, request_arguments
from dembias.workspace.folder import Workspace
from tests.helpers import generate, write
from tests.llama_server import SKIP_REASON, free_port, llama_cpp_available, start_llama_server
from tests.test_generate import TEXTS

KEY_ENV = "DEMBIAS_TEST_SERVER_KEY"
SECRET = "sk-dembias-test-secret-0123456789"


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    rows = "id,text\n" + "\n".join(f"{i},{t}" for i, t in enumerate(TEXTS, start=1)) + "\n"
    path = write(tmp_path / "contribs.csv", rows)
    workspace = Workspace.resolve(tmp_path / "ws")
    ingest_contributions(workspace, path, debate_id="d1", title="Our town", language="en")
    return workspace


def options_for(server, **overrides) -> ServerOptions:
    return ServerOptions(base_url=server.base_url, api_key_env=KEY_ENV, **overrides)


def corpus_text(ws: Workspace) -> str:
    con = duckdb.connect(str(ws.corpus_path), read_only=True)
    try:
        return json.dumps(con.execute("SELECT * FROM outputs").fetchall(), default=str)
    finally:
        con.close()


# --------------------------------------------------------------------------------------------------
# against the real server


@pytest.mark.slow
def test_server_reformulations_land_like_local_ones(ws: Workspace, llama_server, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)  # the llama.cpp server takes any key; it must never be written anywhere
    decoding = DecodingParams(max_new_tokens=24)
    common = dict(task="reformulation", debate_id="d1", limit=2, decoding=decoding)
    local = generate(ws, model="smollm2", device="cpu", threads=1, checkpoint=tmp_path / "local.jsonl", **common)
    options = options_for(llama_server, price_in=1.0, price_out=2.0)
    served = generate(ws, model="openai:smollm2", server=options, checkpoint=tmp_path / "served.jsonl", **common)
    assert (served.planned, served.generated, served.empty, served.stored) == (2, 2, 0, 2)

    loc, srv = read_outputs_jsonl(local.out), read_outputs_jsonl(served.out)
    assert [r.source_ids for r in srv] == [r.source_ids for r in loc] == [["1"], ["2"]]
    assert {(r.task, r.prompt_id, r.prompt) for r in srv} == {(r.task, r.prompt_id, r.prompt) for r in loc}
    assert all(len(r.units) == 1 and r.units[0].text == r.text for r in srv)
    assert "bike" in srv[0].text.lower()  # SmolLM2 rewrites the bike-lane contribution
    lines = [json.loads(line) for path in (local.out, served.out) for line in path.read_text().splitlines()]
    assert len({frozenset(line) for line in lines}) == 1  # the same fields, local or served
    assert set(loc[0].params) <= set(srv[0].params)  # the same params, plus the server's
    params = srv[0].params
    assert srv[0].model == "smollm2" and params["engine"] == "openai" and params["device"] == "server"
    assert params["base_url"] == llama_server.base_url and params["api_key_env"] == KEY_ENV
    assert params["token_count"] == "server /extras/tokenize" and params["seed"] == 0
    assert all(r.params["timings"]["prompt_tokens"] > 20 and r.params["timings"]["new_tokens"] > 0 for r in srv)

    manifest = json.loads(served.manifest.read_text())
    run = manifest["runs"][0]
    assert run["server_reported"]["response_models"] == ["smollm2"] and run["base_url"] == llama_server.base_url
    tokens = (
        sum(r.params["timings"]["prompt_tokens"] for r in srv),
        sum(r.params["timings"]["new_tokens"] for r in srv),
    )
    assert (
        (run["prompt_tokens"], run["completion_tokens"]) == tokens == (served.prompt_tokens, served.completion_tokens)
    )
    assert served.cost_usd == run["cost_usd"] == round((tokens[0] * 1.0 + tokens[1] * 2.0) / 1e6, 6) > 0
    for text in (served.out.read_text(), served.manifest.read_text(), corpus_text(ws)):
        assert SECRET not in text

    again = generate(ws, model="openai:smollm2", server=options, checkpoint=tmp_path / "served.jsonl", **common)
    assert (again.generated, again.resumed, again.stored, again.cost_usd) == (0, 2, 0, 0.0)
    assert again.output_ids == served.output_ids
    assert [r["generated"] for r in json.loads(again.manifest.read_text())["runs"]] == [2, 0]


@pytest.mark.slow
def test_server_summary_map_reduces_and_parses_citations(ws: Workspace, llama_server, tmp_path: Path) -> None:
    result = generate(
        ws, task="summary", debate_id="d1", model="openai:smollm2", server=options_for(llama_server),
        context_tokens=200, decoding=DecodingParams(max_new_tokens=64), checkpoint=tmp_path / "s.jsonl",
    )  # fmt: skip
    assert (result.generated, result.stored) == (1, 1)
    (record,) = read_outputs_jsonl(result.out)
    info = record.params["map_reduce"]
    assert info["chunks"] >= 2 and info["reduce_rounds"] >= 1 and info["calls"] >= info["chunks"] + 1
    assert record.source_ids == [str(i) for i in range(1, 11)]
    units, dropped = parse_citations(record.text, set(record.source_ids))
    assert [(u.text, u.citations) for u in record.units] == [(u["text"], u["citations"]) for u in units]
    assert record.params["dropped_citations"] == dropped
    cited = {c for u in record.units for c in u.citations}
    assert cited and cited <= set(record.source_ids)
    assert record.params["timings"]["prompt_tokens"] == result.prompt_tokens > 200


@pytest.mark.slow
def test_server_translation_records_the_target_language(ws: Workspace, llama_server, tmp_path: Path) -> None:
    result = generate(
        ws, task="translation", debate_id="d1", model="openai:smollm2", server=options_for(llama_server),
        target_language="fr", limit=1, decoding=DecodingParams(max_new_tokens=24), checkpoint=tmp_path / "t.jsonl",
    )  # fmt: skip
    (record,) = read_outputs_jsonl(result.out)
    assert record.task == "translation" and record.target_language == "fr" and record.text
    assert record.prompt_id == "translation-v1" and result.stored == 1


@pytest.mark.slow
def test_server_token_counts_match_the_models_own_tokenizer(llama_server) -> None:
    from transformers import AutoTokenizer

    from dembias.models.causal_lm import smollm2_gguf

    gguf = smollm2_gguf()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    lm = load_server_model("openai:smollm2", options=options_for(llama_server))
    assert lm.tokenize_route == "/extras/tokenize" and lm.context_tokens > 0
    for text in TEXTS[:4]:
        assert lm.count_tokens(text) == len(tokenizer(text, add_special_tokens=False)["input_ids"])
    cut = lm.truncate(TEXTS[2], 5)
    assert TEXTS[2].startswith(cut) and lm.count_tokens(cut) <= 5


@pytest.mark.slow
def test_cli_generates_through_the_server_and_prints_tokens(ws: Workspace, llama_server) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dembias", "generate", "--task", "reformulation", "--debate", "d1",
         "--model", "openai:smollm2", "--base-url", llama_server.base_url, "--limit", "1",
         "--max-new-tokens", "12", "--price-in", "0.15", "--workspace", str(ws.root), "--json"],
        capture_output=True, text=True, timeout=600, check=True,
    )  # fmt: skip
    result = json.loads(proc.stdout)
    assert result["generated"] == 1 and result["prompt_tokens"] > 0 and result["completion_tokens"] > 0
    assert result["cost_usd"] == round(result["prompt_tokens"] * 0.15 / 1e6, 6)
    assert Path(result["manifest"]).exists()


# --------------------------------------------------------------------------------------------------
# clear errors


def test_an_unreachable_server_is_named(ws: Workspace) -> None:
    port = free_port()
    options = ServerOptions(base_url=f"http://127.0.0.1:{port}/v1", max_retries=0, timeout_s=5)
    with pytest.raises(DembiasError, match=rf"cannot reach the server at http://127\.0\.0\.1:{port}/v1"):
        generate(ws, task="reformulation", debate_id="d1", model="openai:m", server=options, limit=1)
    proc = subprocess.run(
        [sys.executable, "-m", "dembias", "generate", "--task", "reformulation", "--debate", "d1",
         "--model", "openai:m", "--base-url", f"http://127.0.0.1:{port}/v1", "--max-retries", "0",
         "--workspace", str(ws.root)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 2 and "error: cannot reach the server at" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_an_unknown_model_names_the_served_ones(llama_server) -> None:
    with pytest.raises(
        DembiasError, match=r"model 'gpt-9' is not served by http://127\.0\.0\.1:\d+/v1; it serves: smollm2"
    ):
        load_server_model("openai:gpt-9", options=options_for(llama_server))


@pytest.mark.slow
def test_a_wrong_key_is_refused_naming_its_variable(tmp_path: Path, monkeypatch) -> None:
    if not llama_cpp_available():
        pytest.skip(SKIP_REASON)
    with start_llama_server(tmp_path, api_key="the-right-key") as server:
        monkeypatch.setenv(KEY_ENV, SECRET)
        with pytest.raises(DembiasError, match=rf"refused the API key in \${KEY_ENV} \(401\)") as info:
            load_server_model("openai:smollm2", options=options_for(server, max_retries=0))
        assert SECRET not in str(info.value)
        monkeypatch.delenv(KEY_ENV)
        with pytest.raises(DembiasError, match=rf"\${KEY_ENV} is not set"):
            load_server_model("openai:smollm2", options=options_for(server, max_retries=0))
        monkeypatch.setenv(KEY_ENV, "the-right-key")
        assert load_server_model("openai:smollm2", options=options_for(server)).name == "smollm2"


def test_engine_and_server_options_are_checked() -> None:
    with pytest.raises(DembiasError, match="is a server model: use --engine openai"):
        load_generator("openai:x", engine="transformers")
    with pytest.raises(DembiasError, match="--base-url is for server models"):
        load_generator("smollm2", server=ServerOptions(base_url="http://127.0.0.1:1/v1"))
    with pytest.raises(DembiasError, match="unknown engine 'tgi'"):
        load_generator("smollm2", engine="tgi")
    with pytest.raises(DembiasError, match="needs the model's name"):
        load_server_model("openai:")
    with pytest.raises(DembiasError, match="concurrency"):
        ServerOptions(concurrency=0)


# --------------------------------------------------------------------------------------------------
# pure parts: requests, rate limit, cost


def test_requests_carry_the_seed_and_decoding() -> None:
    messages = [{"role": "user", "content": "hi"}]
    greedy = request_arguments("m", messages, DecodingParams(max_new_tokens=5, seed=7))
    assert greedy == {"model": "m", "messages": messages, "max_tokens": 5, "seed": 7, "temperature": 0.0}
    sampled = request_arguments("m", messages, DecodingParams(do_sample=True, temperature=0.9, top_p=0.8, seed=3))
    assert (sampled["temperature"], sampled["top_p"], sampled["seed"]) == (0.9, 0.8, 3)
    penalised = request_arguments("m", messages, DecodingParams(repetition_penalty=1.3))
    assert penalised["extra_body"] == {"repetition_penalty": 1.3, "repeat_penalty": 1.3}


def test_rate_limit_spaces_request_starts() -> None:
    limiter = RateLimiter(600)  # one start every 0.1 s
    start = time.monotonic()
    for _ in range(4):
        limiter.wait()
    assert time.monotonic() - start >= 0.29
    unlimited = RateLimiter(None)
    start = time.monotonic()
    for _ in range(100):
        unlimited.wait()
    assert time.monotonic() - start < 0.05


def test_cost_and_manifest_never_hold_the_key(monkeypatch) -> None:
    monkeypatch.setenv("MY_KEY", SECRET)
    options = ServerOptions(base_url="http://h/v1", api_key_env="MY_KEY", price_in=0.5, price_out=1.5)
    assert options.cost(1_000_000, 2_000_000) == {"cost_usd": 3.5, "cost_note": None}
    assert SECRET not in json.dumps(options.manifest()) and options.manifest()["api_key_env"] == "MY_KEY"
    free = ServerOptions(base_url="http://h/v1").cost(1000, 1000)
    assert free["cost_usd"] == 0 and "no --price-in/--price-out" in free["cost_note"]


# --------------------------------------------------------------------------------------------------
# vLLM: optional, GPU only


def test_vllm_engine_without_vllm_says_how_to_install() -> None:
    if importlib.util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here")
    with pytest.raises(
        DembiasError, match=r'needs vLLM, which is never installed by default: pip install "dembias\[vllm\]"'
    ):
        load_generator("smollm2", engine="vllm")


def test_vllm_engine_without_a_gpu_says_so(monkeypatch) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object() if name == "vllm" else real(name, *a))
    with pytest.raises(DembiasError, match=r"needs a CUDA GPU and none is visible here"):
        load_generator("smollm2", engine="vllm")


@pytest.mark.slow
def test_vllm_engine_generates_on_a_gpu(ws: Workspace, tmp_path: Path) -> None:
    import torch

    if importlib.util.find_spec("vllm") is None or not torch.cuda.is_available():
        pytest.skip("the vLLM engine needs vLLM and a CUDA GPU (neither is required elsewhere)")
    result = generate(
        ws, task="reformulation", debate_id="d1", model="smollm2", engine="vllm", limit=3,
        decoding=DecodingParams(max_new_tokens=24), checkpoint=tmp_path / "v.jsonl",
    )  # fmt: skip
    records = read_outputs_jsonl(result.out)
    assert len(records) == 3 and all(r.params["engine"] == "vllm" for r in records)
    assert result.completion_tokens > 0
