"""Run every benchmark of the project at small sizes and print one table.

    .venv/bin/python benchmarks/run_all.py            # 10k-sized runs (several minutes on 2 cores)
    .venv/bin/python benchmarks/run_all.py --quick    # CI-like: 2k-sized runs, slow scripts skipped
    .venv/bin/python benchmarks/run_all.py --json results.json

Each script runs in a child process; its output is parsed for its figures, its wall time is measured
here and its peak memory is the child's max RSS (``os.wait4``). Columns: stage, size, seconds, rows
per second, peak MiB, and the ratio against the peer measured in the same run: BERTopic's
``fit_transform`` (benchmarks/map.py, same embeddings, same UMAP and HDBSCAN settings) for the opinion
map; the local engine for the Ray engine's embedding throughput.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def run_script(args: list[str], *, timeout: float = 1800) -> tuple[str, float, float, int]:
    """Run ``python benchmarks/<args>``; returns (stdout + stderr, seconds, the child's peak MiB, exit status)."""
    import tempfile

    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as log:
        proc = subprocess.Popen([sys.executable, str(HERE / args[0]), *args[1:]], stdout=log, stderr=subprocess.STDOUT)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.2)
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.seek(0)
        out = log.read()
    return out, time.perf_counter() - started, usage.ru_maxrss / 1024, proc.returncode


def _row(stage: str, size: int, seconds: float, rows: float, peak: float, ratio: float | None = None, note: str = ""):
    return {
        "stage": stage,
        "size": size,
        "seconds": seconds,
        "rows_per_s": rows / seconds if seconds else 0.0,
        "peak_mib": peak,
        "ratio": ratio,
        "note": note,
    }


def _float(pattern: str, text: str) -> float | None:
    match = re.search(pattern, text)
    return float(match.group(1).replace(",", "")) if match else None


def bench_pipeline(n: int) -> list[dict[str, Any]]:
    """benchmarks/pipeline.py at ``n`` (each stage in its own child)."""
    import tempfile

    from pipeline import run_pipeline

    with tempfile.TemporaryDirectory() as tmp:
        results = run_pipeline(n, Path(tmp), verbose=False)
    return [
        _row(f"pipeline {r['stage']}", n, r["seconds"], r["rows"], r["peak_mib"], note=r.get("note", ""))
        for r in results
    ]


def bench_map(n: int) -> tuple[list[dict[str, Any]], float | None]:
    """benchmarks/map.py at ``n`` with two seeds; returns rows and BERTopic's seconds."""
    out, seconds, peak, rc = run_script(["map.py", "--n", str(n), "--seeds", "2"])
    peer = _float(r"BERTopic fit_transform[^:]*: ([\d.]+) s", out)
    one = _float(r"dembias one seed[^:]*: ([\d.]+) s", out)
    total = _float(r"map stage total\s+([\d.]+) s", out)
    embed = _float(r"\nembed\s+([\d.]+) s", out) or 0.0
    if rc != 0 or total is None:
        return [_row("map.py (failed)", n, seconds, 0, peak, note=out.strip().splitlines()[-1][:80])], None
    rows = [_row("map.py map stage (embed+map, 2 seeds)", n, total, n, peak, total / peer if peer else None)]
    rows.append(
        _row("map.py map excl. embed (2 seeds)", n, total - embed, n, peak, (total - embed) / peer if peer else None)
    )
    if one is not None:
        rows.append(_row("map.py one seed (UMAP 5-D + HDBSCAN)", n, one, n, peak, one / peer if peer else None))
    if peer is not None:
        rows.append(_row("map.py peer: BERTopic fit_transform", n, peer, n, peak, 1.0, "same embeddings"))
    return rows, peer


def bench_ingest(n: int) -> list[dict[str, Any]]:
    """benchmarks/ingest.py with ``n`` contributions and ``10 n`` votes."""
    out, _, _, rc = run_script(["ingest.py", "--sizes", f"{n}:{10 * n}"])
    match = re.search(r"^\s*([\d,]+)\s+([\d,]+)\s+([\d.]+)\s+([\d,]+)\s+([\d,]+)", out, re.M)
    if rc != 0 or not match:
        return [_row("ingest.py (failed)", n, 0, 0, 0, note=out.strip()[-80:])]
    seconds, peak = float(match.group(3)), float(match.group(5).replace(",", ""))
    return [_row("ingest.py (CSV + votes)", n, seconds, 11 * n, peak, note=f"{10 * n:,} votes")]


def bench_score(n: int, resamples: int) -> list[dict[str, Any]]:
    """benchmarks/score.py (score_pluralism on synthetic tables)."""
    out, _, peak, rc = run_script(["score.py", "--n", str(n), "--resamples", str(resamples)])
    seconds = _float(r"score_pluralism: ([\d.]+) s", out)
    if rc != 0 or seconds is None:
        return [_row("score.py (failed)", n, 0, 0, peak, note=out.strip()[-80:])]
    return [_row("score.py score_pluralism", n, seconds, n, peak, note=f"{resamples} resamples")]


def bench_rescore(n: int) -> list[dict[str, Any]]:
    """benchmarks/rescore_throughput.py: local engine vs Ray engine."""
    out, _, peak, rc = run_script(["rescore_throughput.py", "--n", str(n)])
    m_local = re.search(r"^local\s+(\d+)\s+([\d.]+)", out, re.M)
    m_ray = re.search(r"^ray\s+(\d+)\s+([\d.]+)", out, re.M)
    if rc != 0 or not m_local:
        return [_row("rescore_throughput.py (failed)", n, 0, 0, peak, note=out.strip()[-80:])]
    local = float(m_local.group(2))
    rows = [_row("embed local engine", n, local, n, peak, 1.0)]
    if m_ray:
        ray = float(m_ray.group(2))
        rows.append(_row("embed Ray engine", n, ray, n, peak, ray / local, "vs local"))
    return rows


def bench_plain(script: list[str], stage: str, size: int) -> list[dict[str, Any]]:
    """A script whose figure is its wall time."""
    out, seconds, peak, rc = run_script(script)
    note = "ok" if rc == 0 else f"exit {rc}: {out.strip().splitlines()[-1][:60] if out.strip() else ''}"
    return [_row(stage, size, seconds, size, peak, note=note)]


def print_table(rows: list[dict[str, Any]]) -> None:
    """The combined table."""
    print(f"{'stage':40} {'size':>8} {'seconds':>8} {'rows/s':>10} {'peak MiB':>9} {'vs peer':>8}  note")
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else ""
        print(
            f"{r['stage']:40} {r['size']:>8,} {r['seconds']:>8.1f} {r['rows_per_s']:>10,.0f} {r['peak_mib']:>9,.0f} "
            f"{ratio:>8}  {r.get('note', '')}",
            flush=True,
        )


def run_all(*, quick: bool = False) -> list[dict[str, Any]]:
    """Every benchmark at small sizes (smaller still with ``quick``)."""
    n = 2_000 if quick else 10_000
    rows: list[dict[str, Any]] = []
    steps = [
        lambda: bench_ingest(n * 10),
        lambda: bench_pipeline(n),
        lambda: bench_map(n)[0],
        lambda: bench_score(n * 10, 200 if quick else 1000),
        lambda: bench_rescore(500 if quick else 2000),
        lambda: bench_plain(
            ["fuzz_readers.py", "--cases", "60" if quick else "600"], "fuzz_readers.py", 60 if quick else 600
        ),
    ]
    if not quick:
        steps.append(lambda: bench_plain(["fidelity_validation.py"], "fidelity_validation.py (demo pairs)", 1))
        steps.append(lambda: bench_plain(["gpu_rescore.py"], "gpu_rescore.py (CPU, 256 texts)", 256))
    for step in steps:
        rows.extend(step())
    # the pipeline's map stage against the peer, when map.py ran at the same size
    peer = next((r["seconds"] for r in rows if r["stage"].startswith("map.py peer")), None)
    for r in rows:
        if r["stage"] == "pipeline map" and peer:
            r["ratio"] = r["seconds"] / peer
    return rows


def main(argv: list[str] | None = None) -> None:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2k-sized runs, slow scripts skipped")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    rows = run_all(quick=args.quick)
    print_table(rows)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    sys.exit(main())
