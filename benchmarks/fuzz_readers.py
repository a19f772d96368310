"""Long fuzz run of every reader (the cases of tests/test_fuzz_readers.py, many more of them).

Prints, per reader, the cases tried (valid / hostile, ingested / refused) and the failures (expected 0),
with the first few failure descriptions. Exit status 1 when any case failed.

    .venv/bin/python benchmarks/fuzz_readers.py --cases 10000          # split over the six readers
    .venv/bin/python benchmarks/fuzz_readers.py --cases 600 --reader csv --seed 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from hypothesis import Phase, given, seed, settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_fuzz_readers import FUZZ_SETTINGS, READERS, Case, make_base_workspace, run_case


def fuzz_reader(name: str, cases: int, *, base, scratch: Path, seed_value: int) -> tuple[Counter, list[str]]:
    """Run ``cases`` generated cases of one reader without shrinking; returns (tallies, failures)."""
    tally: Counter = Counter()
    failures: list[str] = []

    @seed(seed_value)
    @settings(max_examples=cases, phases=[Phase.generate], **FUZZ_SETTINGS)
    @given(READERS[name]())
    def body(case: Case) -> None:
        failure = run_case(case, base, scratch)
        tally["tried"] += 1
        tally["valid" if case.valid else "hostile"] += 1
        if failure:
            tally["failures"] += 1
            failures.append(failure)
        if tally["tried"] % 250 == 0:
            print(f"  {name}: {tally['tried']} cases, {tally['failures']} failures", file=sys.stderr, flush=True)

    body()
    return tally, failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10_000, help="cases in all, split evenly over the readers")
    parser.add_argument("--reader", choices=sorted(READERS), action="append", help="only these readers")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--show", type=int, default=5, help="failure descriptions to print per reader")
    args = parser.parse_args(argv)
    readers = args.reader or sorted(READERS)
    per_reader = max(1, args.cases // len(readers))
    total_failures = 0
    with tempfile.TemporaryDirectory(prefix="dembias-fuzz-") as tmp:
        scratch = Path(tmp)
        base = make_base_workspace(scratch / "base")
        print(f"{'reader':<11} {'tried':>6} {'valid':>6} {'hostile':>7} {'failures':>8} {'seconds':>8}", flush=True)
        for name in readers:
            start = time.perf_counter()
            tally, failures = fuzz_reader(name, per_reader, base=base, scratch=scratch, seed_value=args.seed)
            total_failures += len(failures)
            print(
                f"{name:<11} {tally['tried']:>6} {tally['valid']:>6} {tally['hostile']:>7} {len(failures):>8} "
                f"{time.perf_counter() - start:>8.1f}",
                flush=True,
            )
            for failure in failures[: args.show]:
                print(f"    FAIL {failure[:500]}", flush=True)
    print(f"total failures: {total_failures}")
    return 1 if total_failures else 0


if __name__ == "__main__":
    sys.exit(main())
