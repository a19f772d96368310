"""A run's parameter record, for display next to its numbers: how it was made, from which corpus version.

:func:`run_parameters` flattens a run's manifest into rows ``(section, parameter, value)``: what the
run is (stage, debate, when), every parameter it recorded (nested ones as dotted names), the runs it
read, the job that made it (when one did), and the corpus version it was computed from (the debate's
fingerprint, :func:`dembias.workspace.staleness.debate_fingerprint`) with whether the debate has changed since.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd

from dembias.workspace.folder import Workspace
from dembias.workspace.runs import RunInfo, list_runs
from dembias.workspace.staleness import run_staleness

COLUMNS = ["section", "parameter", "value"]
_CORPUS_STATE = {True: "changed since (stale)", False: "unchanged", None: "unknown (not recorded)"}


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return "not set" if value is None else str(value)


def _flat(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    """Dotted names for nested mappings; lists and scalars as text."""
    if isinstance(value, Mapping) and value:
        for key in sorted(value):
            yield from _flat(f"{prefix}.{key}" if prefix else str(key), value[key])
    else:
        yield prefix, _text(value)


def run_parameters(run: RunInfo, *, stale: bool | None = None) -> pd.DataFrame:
    """The run's parameter record as rows ``(section, parameter, value)`` (values as text).

    ``stale`` is the verdict of :func:`dembias.workspace.staleness.run_staleness` for the run (None: unknown).
    """
    manifest = run.manifest
    rows = [
        ("run", "run id", run.run_id),
        ("run", "stage", run.stage),
        ("run", "debate", _text(run.debate_id)),
        ("run", "created at (UTC)", run.created_at),
    ]
    rows += [("parameters", name, value) for name, value in _flat("", manifest.get("params", {}))]
    rows += [("inputs", "input runs", ", ".join(manifest.get("inputs", [])) or "none")]
    if manifest.get("job_id"):
        rows += [("job", "job id", manifest["job_id"]), ("job", "rescores", _text(manifest.get("rescores")))]
        rows += [("job", name, value) for name, value in _flat("", manifest.get("job", {}))]
    rows += [
        ("corpus", "corpus version", str(manifest.get("input_fingerprint") or "not recorded")),
        ("corpus", "debate since then", _CORPUS_STATE[stale]),
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def run_parameter_records(ws: Workspace, run_ids: list[str] | tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """:func:`run_parameters` of each of ``run_ids`` that exists, with its staleness verdict."""
    chosen = [r for r in list_runs(ws) if r.run_id in set(run_ids)]
    verdicts = run_staleness(ws, chosen)
    return {r.run_id: run_parameters(r, stale=verdicts[r.run_id]) for r in chosen}
