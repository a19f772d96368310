"""Ingest benchmark: a generated contributions CSV with a votes CSV, streamed into a fresh workspace.

Prints rows per second and peak memory (max RSS of the ingesting process) per size, so that growth
can be read off: streaming keeps peak memory roughly flat while the files grow.

    .venv/bin/python benchmarks/ingest.py --sizes 100000:1000000 1000000:10000000
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

LANGS = np.array(["fr", "de", "en", "it", "es", "nl"])
COUNTRIES = np.array(["FR", "DE", "AT", "IT", "ES", "BE", "NL", "IE"])
WORDS = np.array(
    [
        "city",
        "transport",
        "climate",
        "tax",
        "school",
        "housing",
        "bike",
        "lane",
        "energy",
        "price",
        "job",
        "health",
        "park",
        "water",
        "farm",
        "school",
        "référendum",
        "logement",
        "impôt",
        "klima",
        "wohnung",
        "steuer",
        "scuola",
        "lavoro",
        "energía",
        "vivienda",
    ]
)


def generate(folder: Path, n_contributions: int, n_votes: int, *, seed: int = 0) -> tuple[Path, Path]:
    """Write ``contributions.csv`` and ``votes.csv`` in chunks (the generator itself stays small)."""
    rng = np.random.default_rng(seed)
    contributions, votes = folder / "contributions.csv", folder / "votes.csv"
    chunk = 200_000
    for start in range(0, n_contributions, chunk):
        n = min(chunk, n_contributions - start)
        words = WORDS[rng.integers(0, len(WORDS), size=(n, 12))]
        frame = pd.DataFrame(
            {
                "id": np.arange(start, start + n).astype(str),
                "text": [" ".join(w) for w in words],
                "language": LANGS[rng.integers(0, len(LANGS), n)],
                "country": COUNTRIES[rng.integers(0, len(COUNTRIES), n)],
                "author": rng.integers(0, n_contributions // 3 + 1, n).astype(str),
                "region": rng.integers(0, 20, n).astype(str),
            }
        )
        frame.to_csv(contributions, mode="a", header=start == 0, index=False)
    chunk = 2_000_000
    for start in range(0, n_votes, chunk):
        n = min(chunk, n_votes - start)
        frame = pd.DataFrame(
            {
                "contribution_id": rng.integers(0, n_contributions, n).astype(str),
                "voter_id": rng.integers(0, max(n_votes // 20, 1), n).astype(str),
                "vote": rng.choice([-1, 0, 1], n),
            }
        )
        frame.to_csv(votes, mode="a", header=start == 0, index=False)
    return contributions, votes


def ingest_in_child(workspace: Path, contributions: Path, votes: Path) -> dict[str, float]:
    """Run the ingest in a child process and return its wall time and peak RSS."""
    code = (
        "import json,sys; from dembias.ingest import ingest_contributions; from dembias.workspace.folder import Workspace; "
        "c=ingest_contributions(Workspace(sys.argv[1]), sys.argv[2], debate_id='bench', votes_path=sys.argv[3]); "
        "print(json.dumps(c))"
    )
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, str(workspace), str(contributions), str(votes)],
        check=True,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "seconds": seconds,
        "peak_mib": peak_kib / 1024,
        "counts": json.loads(out.stdout.strip().splitlines()[-1])["bench"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["100000:1000000"], help="CONTRIBUTIONS:VOTES pairs")
    args = parser.parse_args()
    print(f"{'contributions':>13} {'votes':>11} {'seconds':>8} {'rows/s':>10} {'peak MiB':>9} {'votes kept':>11}")
    for size in args.sizes:
        n_c, n_v = (int(x) for x in size.split(":"))
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            contributions, votes = generate(folder, n_c, n_v)
            result = ingest_in_child(folder / "ws", contributions, votes)
        rows = n_c + n_v
        print(
            f"{n_c:>13,} {n_v:>11,} {result['seconds']:>8.1f} {rows / result['seconds']:>10,.0f} "
            f"{result['peak_mib']:>9,.0f} {result['counts']['votes']:>11,}",
            flush=True,
        )


if __name__ == "__main__":
    main()
