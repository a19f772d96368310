"""Generation: prompts, citation parsing, chunking, and the real generation path on a tiny random LM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from dembias.errors import DembiasError
from dembias.generation import GenerationParams, GenerationProgress, run, variants
from dembias.generation.checkpoints import read_checkpoint
from dembias.generation.inputs import debate_topic, stratified_contributions
from dembias.generation.params import sample_seed
from dembias.generation.prompts import PROMPTS, get_prompt, language_name
from dembias.generation.summaries import pack_chunks, parse_citations
from dembias.ingest import ingest_contributions
from dembias.ingest.outputs import read_outputs_jsonl
from dembias.models.bundle import StageModels
from dembias.models.causal_lm import DecodingParams, load_model
from dembias.workspace.folder import Workspace

from .helpers import generate, write

WORDS = [
    "the",
    "a",
    "we",
    "should",
    "city",
    "tax",
    "people",
    "basic",
    "income",
    "work",
    "money",
    "water",
    "rivers",
    "farmers",
    "bike",
    "lanes",
    "downtown",
    "safe",
    "unsafe",
    "more",
    "less",
    "not",
    "no",
    "yes",
    "support",
    "oppose",
    "trial",
    "inflation",
    "schools",
    "roads",
    "police",
    "bus",
    "clean",
    "summary",
    "opinions",
    "contribution",
    "rewrite",
    "translate",
    "debate",
    "public",
    "clearer",
    "meaning",
    "stance",
    "keep",
    "reply",
    "only",
    "minority",
    "ids",
    "brackets",
    "like",
    "end",
    "every",
    "sentence",
    "with",
    "of",
    "to",
    "in",
    "and",
    "is",
    "are",
]
TEXTS = [
    "We should build more bike lanes downtown.",
    "Downtown is not safe at night.",
    "A basic income would support people who care for family.",
    "Basic income could cause inflation.",
    "Farmers should keep rivers clean.",
    "The city should fund schools not roads.",
    "More police downtown.",
    "Buses should run on Sundays.",
    "Lower tax on small businesses.",
    "Water is not for sale.",
]


# --------------------------------------------------------------------------------------------------
# fixtures: a tiny tokenizer and a randomly initialised Llama saved to disk (no downloads)


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    folder = tmp_path_factory.mktemp("tiny-llm")
    specials = ["<pad>", "<s>", "</s>", "<unk>", "<|user|>", "<|system|>", "<|assistant|>"]
    vocab = {tok: i for i, tok in enumerate(specials + WORDS + list("[],.:!?0123456789"))}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Whitespace(), pre_tokenizers.Digits(True)])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    tokenizer.chat_template = (
        "{% for m in messages %}<|{{ m['role'] }}|> {{ m['content'] }} {% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>{% endif %}"
    )
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=512,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    model = LlamaForCausalLM(config)
    model.generation_config.suppress_tokens = list(range(len(specials)))  # every answer has words
    model.save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def tiny_lm(tiny_model_dir: Path):
    return load_model(str(tiny_model_dir), device="cpu", threads=1)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    rows = "id,text\n" + "\n".join(f"{i},{t}" for i, t in enumerate(TEXTS, start=1)) + "\n"
    path = write(tmp_path / "contribs.csv", rows)
    workspace = Workspace.resolve(tmp_path / "ws")
    ingest_contributions(workspace, path, debate_id="d1", title="Our town", language="en")
    return workspace


def corpus_outputs(ws: Workspace) -> list[tuple]:
    con = duckdb.connect(str(ws.corpus_path), read_only=True)
    try:
        return con.execute("SELECT output_id, task, source_ids, text FROM outputs ORDER BY output_id").fetchall()
    finally:
        con.close()


def checkpoint_ids(path: Path) -> list[str]:
    return [json.loads(line)["output_id"] for line in path.read_text(encoding="utf-8").splitlines() if line]


# --------------------------------------------------------------------------------------------------
# pure parts


def test_prompts_are_versioned_and_checked() -> None:
    assert get_prompt(None, task="reformulation").prompt_id == "reformulation-v1"
    messages = get_prompt("translation-v1", task="translation").messages(text="Hallo", language=language_name("fr"))
    assert messages == [
        {"role": "user", "content": PROMPTS["translation-v1"].user.format(text="Hallo", language="French")}
    ]
    assert "into French." in messages[0]["content"]
    with pytest.raises(DembiasError, match="is for task 'summary'"):
        get_prompt("summary-v1", task="reformulation")
    with pytest.raises(DembiasError, match="unknown prompt"):
        get_prompt("reformulation-v9", task="reformulation")


def test_parse_citations_keeps_known_ids_and_reports_the_rest() -> None:
    text = "Most people support a trial [12, 40]. A minority fears inflation [7, 999]. Nobody cites."
    units, dropped = parse_citations(text, {"12", "40", "7"})
    assert units == [
        {"text": "Most people support a trial.", "citations": ["12", "40"]},
        {"text": "A minority fears inflation.", "citations": ["7"]},
        {"text": "Nobody cites.", "citations": []},
    ]
    assert dropped == ["999"]


def test_pack_chunks_respects_the_budget() -> None:
    assert pack_chunks(["a", "b", "c", "d"], [3, 3, 3, 9], budget=8) == [["a", "b"], ["c"], ["d"]]
    assert pack_chunks([], [], budget=8) == []


def test_sample_per_cluster_keeps_every_stratum(ws: Workspace) -> None:
    frame, used = stratified_contributions(ws, "d1", sample_per_cluster=3, strata="none", seed=1)
    assert used == "none" and len(frame) == 3
    assert list(frame["contribution_id"]) == sorted(frame["contribution_id"], key=int)
    again, _ = stratified_contributions(ws, "d1", sample_per_cluster=3, strata="none", seed=1)
    assert list(again["contribution_id"]) == list(frame["contribution_id"])
    first, _ = stratified_contributions(ws, "d1", limit=4, strata="none")
    assert list(first["contribution_id"]) == ["1", "2", "3", "4"]
    with pytest.raises(DembiasError, match="no mapping run"):
        stratified_contributions(ws, "d1", strata="cluster")


def test_generation_lists_numeric_ids_by_value_then_the_rest(tmp_path: Path) -> None:
    rows = "id,text\n10,ten\nb,bee\n2,two\na,ay\n1,one\n"
    workspace = Workspace.resolve(tmp_path / "ws")
    ingest_contributions(workspace, write(tmp_path / "c.csv", rows), debate_id="d", title="T", language="en")
    frame, used = stratified_contributions(workspace, "d", strata="none")
    assert list(frame["contribution_id"]) == ["1", "2", "10", "a", "b"] and used == "none"
    assert list(frame.columns) == ["contribution_id", "text", "language", "stratum"]
    with pytest.raises(DembiasError, match="unknown debate"):
        stratified_contributions(workspace, "nope")


# --------------------------------------------------------------------------------------------------
# the real generation path on a tiny random Llama


def test_reformulations_end_to_end_and_rerun_is_a_no_op(ws: Workspace, tiny_lm, tmp_path: Path) -> None:
    out = tmp_path / "ref.jsonl"
    result = generate(
        ws, task="reformulation", debate_id="d1", model=tiny_lm, limit=5, batch_size=2,
        decoding=DecodingParams(max_new_tokens=8), checkpoint=out,
    )  # fmt: skip
    assert (result.planned, result.generated, result.resumed, result.empty, result.stored) == (5, 5, 0, 0, 5)
    records = read_outputs_jsonl(out)
    assert [r.source_ids for r in records] == [["1"], ["2"], ["3"], ["4"], ["5"]]
    first = records[0]
    assert first.task == "reformulation" and first.prompt_id == "reformulation-v1" and first.model == tiny_lm.name
    assert "{text}" in first.prompt
    assert first.params["max_new_tokens"] == 8 and first.params["do_sample"] is False
    assert first.params["model_revision"].startswith("sha256:")
    assert 1 <= first.params["timings"]["new_tokens"] <= 8 and first.params["timings"]["seconds"] > 0
    assert len(first.units) == 1 and first.units[0].text == first.text
    stored = corpus_outputs(ws)
    assert sorted(r[0] for r in stored) == sorted(result.output_ids)

    again = generate(
        ws, task="reformulation", debate_id="d1", model=tiny_lm, limit=5, batch_size=3,
        decoding=DecodingParams(max_new_tokens=8), checkpoint=out,
    )  # fmt: skip
    assert (again.generated, again.resumed, again.stored) == (0, 5, 0)
    assert again.output_ids == result.output_ids
    assert corpus_outputs(ws) == stored
    assert len(checkpoint_ids(out)) == 5


def test_greedy_outputs_do_not_depend_on_batching(ws: Workspace, tiny_lm, tmp_path: Path) -> None:
    texts = []
    for batch_size in (1, 4):
        out = tmp_path / f"b{batch_size}.jsonl"
        generate(
            ws, task="reformulation", debate_id="d1", model=tiny_lm, limit=4, batch_size=batch_size,
            decoding=DecodingParams(max_new_tokens=6), checkpoint=out, store=False,
        )  # fmt: skip
        texts.append([r.text for r in read_outputs_jsonl(out)])
    assert texts[0] == texts[1]


def test_translation_records_the_target_language(ws: Workspace, tiny_lm, tmp_path: Path) -> None:
    with pytest.raises(DembiasError, match="needs --target-language"):
        generate(ws, task="translation", debate_id="d1", model=tiny_lm, checkpoint=tmp_path / "t.jsonl")
    result = generate(
        ws, task="translation", debate_id="d1", model=tiny_lm, limit=2, target_language="fr",
        decoding=DecodingParams(max_new_tokens=5), checkpoint=tmp_path / "t.jsonl",
    )  # fmt: skip
    records = read_outputs_jsonl(result.out)
    assert [(r.task, r.target_language, r.prompt_id) for r in records] == [("translation", "fr", "translation-v1")] * 2
    other = generate(
        ws, task="translation", debate_id="d1", model=tiny_lm, limit=2, target_language="de",
        decoding=DecodingParams(max_new_tokens=5), checkpoint=tmp_path / "t.jsonl",
    )  # fmt: skip
    assert other.generated == 2 and not set(other.output_ids) & set(result.output_ids)
    assert len(corpus_outputs(ws)) == 4


def test_summary_map_reduces_long_debates(ws: Workspace, tiny_lm, tmp_path: Path) -> None:
    result = generate(
        ws, task="summary", debate_id="d1", model=tiny_lm, context_tokens=120, batch_size=2,
        decoding=DecodingParams(max_new_tokens=12), checkpoint=tmp_path / "s.jsonl",
    )  # fmt: skip
    (record,) = read_outputs_jsonl(result.out)
    assert record.task == "summary" and record.source_ids == [str(i) for i in range(1, 11)]
    info = record.params["map_reduce"]
    assert info["chunks"] >= 2 and info["reduce_rounds"] >= 1 and info["reduce_prompt_id"] == "summary-reduce-v1"
    assert info["calls"] > info["chunks"]
    assert record.params["context_tokens"] == 120
    cited = {c for u in record.units for c in u.citations}
    assert cited <= {str(i) for i in range(1, 11)}
    assert corpus_outputs(ws)[0][0] == record.output_id

    single = generate(
        ws, task="summary", debate_id="d1", model=tiny_lm, context_tokens=400,
        decoding=DecodingParams(max_new_tokens=12), checkpoint=tmp_path / "s.jsonl",
    )  # fmt: skip
    (_, record2) = read_outputs_jsonl(single.out)
    assert record2.params["map_reduce"]["chunks"] == 1 and record2.params["map_reduce"]["calls"] == 1


def test_killed_run_resumes_without_duplicates(ws: Workspace, tiny_lm, tmp_path: Path) -> None:
    reference = tmp_path / "reference.jsonl"
    options = dict(
        task="reformulation", debate_id="d1", model=tiny_lm, batch_size=2,
        decoding=DecodingParams(max_new_tokens=6),
    )  # fmt: skip
    generate(ws, checkpoint=reference, store=False, **options)
    out = tmp_path / "run.jsonl"
    seen = []

    def fail_after_three(message: str) -> None:
        if isinstance(message, GenerationProgress) and message.unit == "output":
            seen.append(message.done)
        if len(seen) == 3:
            raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        generate(ws, checkpoint=out, progress=fail_after_three, **options)
    assert len(checkpoint_ids(out)) == 3
    assert corpus_outputs(ws) == []  # nothing lands in the corpus until the run completes
    with open(out, "a", encoding="utf-8") as handle:  # a torn line, as a kill during a write leaves
        handle.write('{"output_id": "o_torn", "tex')
    result = generate(ws, checkpoint=out, **options)
    assert (result.resumed, result.generated, result.stored) == (3, 7, 10)
    ids = checkpoint_ids(out)
    assert len(ids) == len(set(ids)) == 10
    assert set(ids) == set(checkpoint_ids(reference))
    texts = {r.output_id: r.text for r in read_outputs_jsonl(out)}
    assert texts == {r.output_id: r.text for r in read_outputs_jsonl(reference)}
    assert len(corpus_outputs(ws)) == 10


@pytest.mark.slow
def test_cli_run_killed_by_signal_resumes(ws: Workspace, tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "cli.jsonl"
    command = [
        str(Path(sys.executable).parent / "dembias"), "generate", "-w", str(ws.root), "--task", "reformulation",
        "--debate", "d1", "--model", str(tiny_model_dir), "--batch-size", "1", "--max-new-tokens", "48",
        "--device", "cpu", "--threads", "1", "--out", str(out), "--json",
    ]  # fmt: skip
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if out.exists() and len(checkpoint_ids(out)) >= 2:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.05)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
    partial = set(read_checkpoint(out))
    assert 2 <= len(partial) < 10
    assert corpus_outputs(ws) == []
    done = subprocess.run(command, capture_output=True, text=True, env=env, check=True)
    result = json.loads(done.stdout)
    assert result["resumed"] == len(partial) and result["generated"] == 10 - len(partial)
    ids = checkpoint_ids(out)
    assert len(ids) == len(set(ids)) == 10 and partial <= set(ids)
    assert len(corpus_outputs(ws)) == 10


@pytest.mark.slow
def test_smollm2_reformulates_three_contributions(ws: Workspace, tmp_path: Path) -> None:
    result = generate(
        ws, task="reformulation", debate_id="d1", model="smollm2", limit=3, batch_size=3, device="cpu", threads=1,
        decoding=DecodingParams(max_new_tokens=32), checkpoint=tmp_path / "smol.jsonl",
    )  # fmt: skip
    records = read_outputs_jsonl(result.out)
    assert len(records) == 3 and result.stored == 3
    assert records[0].model.startswith("HuggingFaceTB/SmolLM2-135M-Instruct")
    words = " ".join(r.text.lower() for r in records)
    assert "bike" in words or "lane" in words  # it rewrites the bike-lane contribution, in English
    assert all(r.params["timings"]["tokens_per_s"] > 0 for r in records)


def test_empty_answers_are_listed_and_not_retried(ws: Workspace, tiny_model_dir: Path, tmp_path: Path) -> None:
    lm = load_model(str(tiny_model_dir), device="cpu", threads=1)
    eos = lm.tokenizer.eos_token_id
    lm.model.generation_config.suppress_tokens = [i for i in range(lm.model.config.vocab_size) if i != eos]
    out = tmp_path / "empty.jsonl"
    options = dict(task="reformulation", debate_id="d1", model=lm, limit=3, checkpoint=out)
    result = generate(ws, decoding=DecodingParams(max_new_tokens=4), **options)
    assert (result.generated, result.empty, result.stored) == (3, 3, 0)
    assert not out.exists() or out.read_text() == ""
    skipped = [json.loads(line) for line in out.with_name("empty.jsonl.skipped").read_text().splitlines()]
    assert [s["source_ids"] for s in skipped] == [["1"], ["2"], ["3"]]
    again = generate(ws, decoding=DecodingParams(max_new_tokens=4), **options)
    assert (again.generated, again.resumed) == (0, 3)
    assert corpus_outputs(ws) == []


def test_summary_topic_prefers_a_short_question(ws: Workspace) -> None:
    assert debate_topic(ws, "d1") == "Our town"


# --------------------------------------------------------------------------------------------------
# repeated samples and prompt variants


def test_sample_seeds_are_stable_and_distinct() -> None:
    assert sample_seed(7, 0) == 7  # sample 0 is the run's own seed: single-sample ids do not change
    seeds = [sample_seed(7, k) for k in range(5)]
    assert len(set(seeds)) == 5 and seeds == [sample_seed(7, k) for k in range(5)]
    assert sample_seed(0, 1) != sample_seed(1, 1) and sample_seed(0, 1) != 1


def generate_variants(ws: Workspace, lm, *, prompt_ids=(None,), samples: int = 1, **options) -> list:
    """Every prompt x sample through the stage's entry point, the model loaded once (as the CLI does)."""
    every = variants(GenerationParams(model=lm.spec, **options), prompt_ids=prompt_ids, samples=samples)
    return [run(ws, debate_id="d1", params=one, models=StageModels(generator=lm)).details for one in every]


def test_samples_record_index_and_seed_and_resume(ws: Workspace, tiny_lm, tmp_path: Path) -> None:
    options = dict(
        task="reformulation", limit=2, samples=3,
        decoding=DecodingParams(max_new_tokens=6, do_sample=True, temperature=1.0, seed=5),
    )  # fmt: skip
    results = generate_variants(ws, tiny_lm, **options)
    assert [r.generated for r in results] == [2, 2, 2]
    assert len({r.out for r in results}) == 3  # one checkpoint per sample: its key includes the sample
    records = [r for res in results for r in read_outputs_jsonl(res.out)]
    assert [(r.params["sample"], r.params["seed"]) for r in records] == [
        (k, sample_seed(5, k)) for k in range(3) for _ in range(2)
    ]
    assert len({r.output_id for r in records}) == 6
    assert {r.model for r in records} == {tiny_lm.name} and {r.prompt_id for r in records} == {"reformulation-v1"}
    again = generate_variants(ws, tiny_lm, **options)
    assert [(r.generated, r.resumed, r.stored) for r in again] == [(0, 2, 0)] * 3
    assert len(corpus_outputs(ws)) == 6


def test_greedy_repeats_are_refused(ws: Workspace, tiny_lm) -> None:
    with pytest.raises(DembiasError, match="needs sampling"):
        generate_variants(ws, tiny_lm, task="reformulation", samples=2)
    with pytest.raises(DembiasError, match="repeated samples need sampling"):
        generate(ws, task="reformulation", debate_id="d1", model=tiny_lm, sample=1)
    with pytest.raises(DembiasError, match="unknown prompt"):
        generate_variants(ws, tiny_lm, task="summary", prompt_ids=["summary-v1", "nope"])
    with pytest.raises(DembiasError, match="the generator given is"):
        run(ws, debate_id="d1", params=GenerationParams(task="summary"), models=StageModels(generator=tiny_lm))


def test_cli_several_prompts_and_samples(ws: Workspace, tiny_model_dir: Path) -> None:
    from typer.testing import CliRunner

    from dembias.cli import app

    base = ["generate", "-w", str(ws.root), "--task", "summary", "--debate", "d1", "--model", str(tiny_model_dir)]
    tail = ["--max-new-tokens", "6", "--device", "cpu", "--threads", "1", "--json"]
    refused = CliRunner().invoke(app, [*base, "--samples", "2", *tail])
    assert refused.exit_code != 0 and "needs sampling" in str(refused.exception)
    result = CliRunner().invoke(
        app, [*base, "--prompt", "summary-v1,summary-v2", "--samples", "2", "--sample", "--seed", "3", *tail]
    )
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout[result.stdout.index("{") :])
    assert view["planned"] == 4 and len(view["runs"]) == 4
    con = duckdb.connect(str(ws.corpus_path), read_only=True)
    try:
        rows = con.execute(
            "SELECT prompt_id, json_extract(params, '$.sample')::INT, model FROM outputs ORDER BY 1, 2"
        ).fetchall()
    finally:
        con.close()
    assert [r[:2] for r in rows] == [("summary-v1", 0), ("summary-v1", 1), ("summary-v2", 0), ("summary-v2", 1)]


def test_generate_job_counts_outputs_and_records_the_job(ws: Workspace, tiny_model_dir: Path) -> None:
    from dembias import jobs

    job = jobs.submit_job(
        ws, stage="generate", debate_id="d1", model=str(tiny_model_dir), device="cpu", batch_size=2,
        params={"task": "reformulation", "limit": 3},
    )  # fmt: skip
    (done,) = jobs.run_worker(ws, once=True)
    assert done.job_id == job.job_id and done.status == "done", done
    assert done.result["run_ids"] == [] and (done.result["generated"], done.result["stored"]) == (3, 3)
    progress = jobs.read_progress(ws, job.job_id)
    assert progress.done == progress.total == 3
    manifest = json.loads(Path(done.result["manifest"]).read_text(encoding="utf-8"))
    (record,) = manifest["runs"]
    assert record["provenance"]["job_id"] == job.job_id
    assert record["params"]["task"] == "reformulation" and record["params"]["limit"] == 3
    assert len(corpus_outputs(ws)) == 3


def test_run_returns_the_checkpoint_as_a_run(ws: Workspace, tiny_lm, tmp_path: Path) -> None:
    params = GenerationParams(
        task="reformulation", model=tiny_lm.spec, limit=2, decoding=DecodingParams(max_new_tokens=4),
        checkpoint=tmp_path / "r.jsonl",
    )  # fmt: skip
    models = StageModels(generator=tiny_lm)
    info = run(ws, debate_id="d1", params=params, models=models, provenance={"asked_by": "test"})
    again = run(ws, debate_id="d1", params=params, models=models)
    assert info.stage == "generation" and info.debate_id == "d1" and info.run_id.startswith("generation-")
    assert again.run_id == info.run_id and again.created_at == info.created_at
    assert (info.details.generated, again.details.resumed) == (2, 2)
    assert info.details.manifest == tmp_path / "r.jsonl.manifest.json"
    first, second = again.manifest["runs"]
    assert first["params"]["checkpoint"] == str(tmp_path / "r.jsonl") and first["params"]["limit"] == 2
    assert first["provenance"] == {"asked_by": "test"} and "provenance" not in second
    assert json.loads(info.details.manifest.read_text(encoding="utf-8")) == again.manifest
