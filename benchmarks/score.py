"""Benchmark: score one summary against a generated 100,000-contribution debate (bootstrap and placebo included).

Run: ``.venv/bin/python benchmarks/score.py [--n 100000] [--units 200] [--resamples 1000]``.
Target: under 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from dembias.pluralism.metrics import score_pluralism


def main() -> None:
    """Generate the debate and summary, score it, print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=200)
    parser.add_argument("--clusters", type=int, default=60)
    parser.add_argument("--resamples", type=int, default=1000)
    parser.add_argument("--placebo", type=int, default=20)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    weights = rng.pareto(1.2, size=args.clusters) + 0.05
    clusters = rng.choice(np.arange(-1, args.clusters), size=args.n, p=np.r_[0.1, 0.9 * weights / weights.sum()])
    ids = np.array([f"c{i:06d}" for i in range(args.n)])
    contributions = pd.DataFrame(
        {
            "contribution_id": ids,
            "language": rng.choice(["en", "de", "fr", "it", "es"], size=args.n),
            "country": rng.choice(["FR", "DE", "IT", "ES", "AT", "BE"], size=args.n),
            "author_pid": np.array([f"p{i}" for i in rng.integers(0, args.n // 3, size=args.n)]),
        }
    )
    assignments = pd.DataFrame({"contribution_id": ids, "cluster": clusters})
    links = pd.DataFrame(
        {
            "unit_index": np.repeat(np.arange(args.units), 3),
            "contribution_id": rng.choice(ids, size=3 * args.units),
        }
    )
    group = rng.integers(0, 4, size=args.n)
    cgv = pd.DataFrame(
        {
            "contribution_id": np.repeat(ids, 4),
            "vote_group": np.tile(np.arange(4), args.n),
            "n_agree": rng.integers(0, 30, size=4 * args.n),
            "n_disagree": rng.integers(0, 30, size=4 * args.n),
            "n_pass": rng.integers(0, 5, size=4 * args.n),
        }
    )
    cgv["agree_rate"] = (cgv["n_agree"] + 1) / (cgv["n_agree"] + cgv["n_disagree"] + cgv["n_pass"] + 2)
    cgv.loc[cgv["vote_group"].to_numpy() == np.repeat(group, 4), "agree_rate"] += 0.3
    cgv["representativeness"] = cgv["agree_rate"]
    started = time.perf_counter()
    result = score_pluralism(
        contributions,
        assignments,
        links,
        n_units=args.units,
        comment_group_votes=cgv,
        n_resamples=args.resamples,
        n_placebo=args.placebo,
        seed=0,
    )
    elapsed = time.perf_counter() - started
    head = result.headline()
    print(
        f"contributions: {args.n:,}  units: {args.units}  clusters: {args.clusters}  resamples: {args.resamples}"
        f"  placebo draws: {args.placebo}"
    )
    for metric in ("survival", "minority_topic_survival", "uer_topics", "uer_opinion_groups"):
        cell = head[metric]
        placebo = head.get(f"placebo:{metric}", {}).get("value")
        print(
            f"  {metric:>24}: {cell['value']:.3f} [{cell['low']:.3f}, {cell['high']:.3f}]"
            + (f"  placebo {placebo:.3f}" if placebo is not None else "")
        )
    print(f"score_pluralism: {elapsed:.2f} s (target < 30 s on 2 cores)")


if __name__ == "__main__":
    main()
