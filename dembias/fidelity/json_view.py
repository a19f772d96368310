"""The JSON form of fidelity runs (``dembias score fidelity --json``): :func:`fidelity_json`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from dembias.fidelity.metrics import NO_STANCE_NOTE, country_language_table

if TYPE_CHECKING:
    from dembias.fidelity.stage import FidelityRun


def fidelity_json(runs: Sequence[FidelityRun]) -> dict[str, Any]:
    """The ``--json`` view of fidelity runs.

    ``outputs``: one record per output (with its model, languages and flags); ``aggregates``: every
    aggregate row; ``country_language``: the country x language view
    (:func:`dembias.fidelity.metrics.country_language_table`); ``tests``: every test with n, means,
    difference and its interval, effect size (Cohen's d), p and q; ``note``: the stance note when no
    NLI model scored stance.
    """
    outputs = []
    aggregates = []
    tests = []
    views = []
    for run in runs:
        flags_by_output = _flags_by_output(run.flags)
        for row in run.pairs.itertuples(index=False):
            outputs.append(_output_record(run.info.run_id, row, flags_by_output.get(row.output_id, [])))
        aggregates += _debate_records(run.info.debate_id, run.aggregates)
        tests += _debate_records(run.info.debate_id, run.tests)
        views += _debate_records(run.info.debate_id, country_language_table(run.aggregates))
    note = None if all(bool(r.info.manifest["params"]["stance_scored"]) for r in runs) else NO_STANCE_NOTE
    return {"outputs": outputs, "aggregates": aggregates, "country_language": views, "tests": tests, "note": note}


def _flags_by_output(flags: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """The flags of a run, per output id, as records."""
    found: dict[str, list[dict[str, Any]]] = {}
    for f in flags.itertuples(index=False):
        found.setdefault(f.output_id, []).append({"kind": f.kind, "words": list(f.words), "detail": f.detail})
    return found


def _output_record(run_id: str, row: Any, flags: list[dict[str, Any]]) -> dict[str, Any]:
    """One scored output of the ``outputs`` list."""
    record: dict[str, Any] = {
        "run_id": run_id,
        "debate_id": row.debate_id,
        "output_id": row.output_id,
        "model": row.model,
        "source_ids": list(row.source_ids),
        "task": row.task,
        "source_language": row.source_language,
        "target_language": row.target_language,
        "output_language": getattr(row, "output_language", None),
        "country": row.country if isinstance(row.country, str) else None,
        "similarity": round(float(row.similarity), 6),
        "similarity_percentile": _clean(row.similarity_percentile),
        "review_score": round(float(row.review_score), 6),
        "flags": flags,
        "stance_checked": bool(getattr(row, "stance_checked", False)),
        "lexical_stance_flip": _clean(getattr(row, "lexical_stance_flip", float("nan"))),
        "stance_scored": bool(row.stance_scored),
    }
    note = getattr(row, "stance_note", None)
    if isinstance(note, str) and note:
        record["stance_note"] = note
    if row.stance_scored:
        record["entailment_min"] = _clean(row.entailment_min)
        record["stance_flip"] = bool(row.stance_flip)
    return record


def _debate_records(debate_id: str | None, table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of a run table as JSON records, each headed by its debate."""
    return [
        {"debate_id": debate_id, **{k: _clean(v) for k, v in row.items()}} for row in table.to_dict(orient="records")
    ]


def _clean(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else round(float(value), 6)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
