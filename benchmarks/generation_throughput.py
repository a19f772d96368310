"""Generation throughput of one engine: tokens per second and cost per 1,000 contributions.

Reformulates (or summarizes) the first ``--n`` Bowling Green comments (real Polis data, English) with
``dembias.generation.run`` in a throwaway workspace, exactly as ``dembias generate`` does
(prompts, checkpoints, records), after one warm-up call that is not counted. Engines:

* ``transformers``: the model in this process (``--model smollm2`` by default, ``--threads``);
* ``openai``: a server at ``--base-url`` (``--model openai:<name>``, ``--concurrency``), or with
  ``--llama-server`` a llama-cpp-python server started here on SmolLM2's GGUF (``pip install "dembias[server]"``);
* ``vllm``: vLLM on a CUDA GPU (``pip install "dembias[vllm]"``); it refuses clearly without one.

Cost per 1,000 contributions = token prices (``--price-in/--price-out``, USD per 1M tokens, for hosted
APIs) + machine time (``--price-per-hour``, USD, for a GPU or a server you pay by the hour). The load
average of the machine is printed with the figures: on a shared machine they vary with it.

    .venv/bin/python benchmarks/generation_throughput.py --engine transformers --n 20
    .venv/bin/python benchmarks/generation_throughput.py --engine openai --llama-server --n 20
    .venv/bin/python benchmarks/generation_throughput.py --engine openai --model openai:gpt-4o-mini \\
        --price-in 0.15 --price-out 0.60 --concurrency 8 --n 200
    .venv/bin/python benchmarks/generation_throughput.py --engine vllm --model Qwen/Qwen2.5-7B-Instruct --n 2000 \\
        --batch-size 256 --price-per-hour 3.5
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dembias.generation import GenerationParams, run  # noqa: E402
from dembias.ingest import ingest_contributions  # noqa: E402
from dembias.models.bundle import StageModels  # noqa: E402
from dembias.models.causal_lm import DecodingParams, load_generator  # noqa: E402
from dembias.models.openai_api import ServerOptions  # noqa: E402
from dembias.workspace.folder import Workspace  # noqa: E402

COMMENTS = ROOT / "data" / "sources" / "polis" / "american-assembly.bowling-green" / "comments.csv"


def build_workspace(root: Path, n: int) -> Workspace:
    """A workspace with one debate of the first ``n`` accepted Bowling Green comments."""
    with open(COMMENTS, encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["moderated"] == "1" and r["comment-body"].strip()][:n]
    path = root / "contributions.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows([r["comment-id"], " ".join(r["comment-body"].split())] for r in rows)
    ws = Workspace.resolve(root / "ws")
    ingest_contributions(ws, path, debate_id="bg", title="Bowling Green", language="en")
    return ws


@contextlib.contextmanager
def server_for(args: argparse.Namespace, scratch: Path) -> Iterator[ServerOptions | None]:
    """The server options of the run; with --llama-server, a llama-cpp-python server started for it."""
    if args.engine != "openai":
        yield None
        return
    options = dict(concurrency=args.concurrency, price_in=args.price_in, price_out=args.price_out)
    if not args.llama_server:
        yield ServerOptions(base_url=args.base_url, **options)
        return
    from tests.llama_server import start_llama_server  # the tests' helper: one way to start it, not two

    with start_llama_server(scratch) as server:
        args.model = f"openai:{server.alias}"
        yield ServerOptions(base_url=server.base_url, **options)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Load the engine, warm it up, generate, and return the figures."""
    with tempfile.TemporaryDirectory(prefix="dembias-genbench-") as tmp, server_for(args, Path(tmp)) as server:
        ws = build_workspace(Path(tmp), args.n)
        started = time.perf_counter()
        lm = load_generator(args.model, engine=args.engine, device=args.device, threads=args.threads, server=server)
        load_s = time.perf_counter() - started
        decoding = DecodingParams(max_new_tokens=args.max_new_tokens)
        common = dict(model=lm.spec, decoding=decoding, batch_size=args.batch_size, store=False)
        warm = GenerationParams(task="reformulation", limit=1, checkpoint=Path(tmp) / "warm.jsonl", **common)
        run(ws, debate_id="bg", params=warm, models=StageModels(generator=lm))
        load = os.getloadavg()
        started = time.perf_counter()
        params = GenerationParams(task=args.task, checkpoint=Path(tmp) / "run.jsonl", **common)
        result = run(ws, debate_id="bg", params=params, models=StageModels(generator=lm)).details
        seconds = time.perf_counter() - started
    hours_per_1000 = seconds / args.n * 1000 / 3600
    machine_cost = hours_per_1000 * args.price_per_hour
    return {
        "engine": args.engine,
        "model": lm.name,
        "task": args.task,
        "contributions": args.n,
        "max_new_tokens": args.max_new_tokens,
        "load_s": round(load_s, 1),
        "seconds": round(seconds, 1),
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "completion_tokens_per_s": round(result.completion_tokens / seconds, 2),
        "total_tokens_per_s": round((result.prompt_tokens + result.completion_tokens) / seconds, 1),
        "contributions_per_s": round(args.n / seconds, 3),
        "cost_per_1000_usd": round(result.cost_usd / args.n * 1000 + machine_cost, 4),
        "hours_per_1000": round(hours_per_1000, 3),
        "load_average_1m_5m": [round(x, 1) for x in load[:2]],
        "cpus": os.cpu_count(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("transformers", "openai", "vllm"), default="transformers")
    parser.add_argument("--model", default="smollm2", help="smollm2, a model id or folder, or openai:<name>")
    parser.add_argument("--task", choices=("reformulation", "summary"), default="reformulation")
    parser.add_argument("--n", type=int, default=20, help="contributions")
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--batch-size", type=int, default=8, help="prompts per generate call")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (transformers)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--base-url", default=None, help="OpenAI-compatible server (engine openai)")
    parser.add_argument("--llama-server", action="store_true", help="start llama-cpp-python's server on SmolLM2")
    parser.add_argument("--concurrency", type=int, default=4, help="requests in flight (engine openai)")
    parser.add_argument("--price-in", type=float, default=0.0, help="USD per 1M prompt tokens")
    parser.add_argument("--price-out", type=float, default=0.0, help="USD per 1M completion tokens")
    parser.add_argument("--price-per-hour", type=float, default=0.0, help="USD per hour of the machine or GPU")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = measure(args)
    if args.json:
        print(json.dumps(figures, indent=1))
        return
    for key, value in figures.items():
        print(f"{key:<26} {value}")


if __name__ == "__main__":
    main()
