"""Local vs Ray engine throughput for the default embedder (USE multilingual) on this machine.

Local: one embedder in this process, batches of ``--batch-size``. Ray: ``embed_with_ray`` on a local Ray
(``ray.init(num_cpus=...)``) or ``$RAY_ADDRESS``: Parquet in, ``map_batches`` on an actor pool (each
actor loads the model once), Parquet out. Ray's figure includes its per-call overhead (actor start,
model load, Parquet round trip); its start-up (``ray.init``) is reported apart. Texts are real Bowling
Green comments repeated to ``--n``.

    .venv/bin/python benchmarks/rescore_throughput.py --n 2000
    .venv/bin/python benchmarks/rescore_throughput.py --n 2000 --actors 2 --threads 1
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from dembias.models.embedders import get_embedder  # noqa: E402

COMMENTS = ROOT / "data" / "sources" / "polis" / "american-assembly.bowling-green" / "comments.csv"


def texts(n: int) -> list[str]:
    with open(COMMENTS, encoding="utf-8") as handle:
        base = [row["comment-body"] for row in csv.DictReader(handle) if row["comment-body"].strip()]
    return [base[i % len(base)] for i in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="texts to embed")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--actors", type=int, default=None, help="Ray actors (default: 1 on CPUs, 1 per GPU)")
    parser.add_argument("--num-cpus", type=int, default=os.cpu_count(), help="CPUs of the local Ray")
    parser.add_argument("--spec", default="use-multilingual", help="embedder spec (default: the default)")
    args = parser.parse_args()
    corpus = texts(args.n)

    started = time.perf_counter()
    embedder = get_embedder(args.spec)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    local = np.vstack([embedder.embed(corpus[i : i + args.batch_size]) for i in range(0, len(corpus), args.batch_size)])
    local_s = time.perf_counter() - started
    print(f"local: model load {load_s:.1f} s; {args.n} texts in {local_s:.1f} s = {args.n / local_s:.0f} texts/s")

    from dembias.models.ray_engine import embed_with_ray, ensure_ray

    started = time.perf_counter()
    ray = ensure_ray(num_cpus=args.num_cpus)
    init_s = time.perf_counter() - started
    print(f"ray: init {init_s:.1f} s; cluster {ray.cluster_resources()}")
    results = []
    for attempt in (1, 2):
        started = time.perf_counter()
        vectors = embed_with_ray(corpus, spec=args.spec, batch_size=args.batch_size, actors=args.actors)
        seconds = time.perf_counter() - started
        results.append(seconds)
        same = np.allclose(vectors, local, atol=1e-5)
        print(
            f"ray call {attempt}: {args.n} texts in {seconds:.1f} s = {args.n / seconds:.0f} texts/s "
            f"(actor start + model load included); same as local: {same}"
        )
    print()
    print(f"{'engine':<8} {'texts':>7} {'seconds':>8} {'texts/s':>8}")
    print(f"{'local':<8} {args.n:>7} {local_s:>8.1f} {args.n / local_s:>8.0f}")
    best = min(results)
    print(f"{'ray':<8} {args.n:>7} {best:>8.1f} {args.n / best:>8.0f}")


if __name__ == "__main__":
    main()
