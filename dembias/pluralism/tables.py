"""The tables of a pluralism run (stage ``pluralism``): their Arrow schemas, one place.

Every table has ``output_id``:

* ``outputs``: model, task, units (all, distinct, content-free, linked), link method and threshold,
  citations (made, supported, precision), ``quality_flags`` and ``quality_notes`` (JSON lists).
* ``scores(metric, value, low, high, note)``: headlines with 95% BC bootstrap intervals where they
  apply, and ``placebo:<metric>`` rows (mean and 2.5-97.5% range of the random-links draws).
* ``cluster_coverage(cluster, size, p_s, p_t, ratio, covered, is_minority)`` (minority *topics*; noise -1)
* ``units(unit_index, text, duplicate_of, content_free, reason, max_similarity, centroid_similarity,
  n_links, stance, vote_group)``: every unit, screened (:mod:`dembias.pluralism.support`), with its stance.
* ``links(unit_index, contribution_id, method, score)`` and ``coverage(contribution_id, p)``
* ``jr_violations(cluster, size, k, threshold)``
* ``group_coverage(dimension, value, n, n_contributors, p_s, p_t, mean_coverage, coverage_low,
  coverage_high, parity, under_represented, suppressed)``: vote groups, language, country, declared groups
* ``opinion_groups(vote_group, n_participants, p_s, p_s_low, p_s_high, p_t, ratio, ratio_low,
  ratio_high, n_units_for, n_common_ground_units, under_represented, small_cell)``
* ``representatives(vote_group, contribution_id, representativeness, covered)``
* ``common_ground(unit_index, contribution_id, gac, min_agree_rate, agreed_by_all)``
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

if TYPE_CHECKING:
    from dembias.pluralism.scoring import OutputScore

_STR, _INT, _F, _B = pa.string(), pa.int64(), pa.float64(), pa.bool_()


def _schema(*fields: tuple[str, pa.DataType]) -> pa.Schema:
    return pa.schema([("output_id", _STR), *fields])


SCHEMAS: dict[str, pa.Schema] = {
    "outputs": _schema(
        ("model", _STR),
        ("task", _STR),
        ("n_units", _INT),
        ("n_distinct_units", _INT),
        ("n_content_free_units", _INT),
        ("n_linked_units", _INT),
        ("link_method", _STR),
        ("link_threshold", _F),
        ("n_citations", _INT),
        ("n_supported_citations", _INT),
        ("citation_precision", _F),
        ("quality_flags", _STR),
        ("quality_notes", _STR),
    ),
    "scores": _schema(("metric", _STR), ("value", _F), ("low", _F), ("high", _F), ("note", _STR)),
    "cluster_coverage": _schema(
        ("cluster", _INT),
        ("size", _INT),
        ("p_s", _F),
        ("p_t", _F),
        ("ratio", _F),
        ("covered", _B),
        ("is_minority", _B),
    ),
    "units": _schema(
        ("unit_index", _INT),
        ("text", _STR),
        ("duplicate_of", _INT),
        ("content_free", _B),
        ("reason", _STR),
        ("max_similarity", _F),
        ("centroid_similarity", _F),
        ("n_links", _INT),
        ("stance", _STR),
        ("vote_group", _INT),
    ),
    "links": _schema(("unit_index", _INT), ("contribution_id", _STR), ("method", _STR), ("score", _F)),
    "coverage": _schema(("contribution_id", _STR), ("p", _F)),
    "jr_violations": _schema(("cluster", _INT), ("size", _INT), ("k", _INT), ("threshold", _F)),
    "group_coverage": _schema(
        ("dimension", _STR),
        ("value", _STR),
        ("n", _INT),
        ("n_contributors", _INT),
        ("p_s", _F),
        ("p_t", _F),
        ("mean_coverage", _F),
        ("coverage_low", _F),
        ("coverage_high", _F),
        ("parity", _F),
        ("under_represented", _B),
        ("suppressed", _B),
    ),
    "opinion_groups": _schema(
        ("vote_group", _INT),
        ("n_participants", _INT),
        ("p_s", _F),
        ("p_s_low", _F),
        ("p_s_high", _F),
        ("p_t", _F),
        ("ratio", _F),
        ("ratio_low", _F),
        ("ratio_high", _F),
        ("n_units_for", _INT),
        ("n_common_ground_units", _INT),
        ("under_represented", _B),
        ("small_cell", _B),
    ),
    "representatives": _schema(
        ("vote_group", _INT), ("contribution_id", _STR), ("representativeness", _F), ("covered", _B)
    ),
    "common_ground": _schema(
        ("unit_index", _INT),
        ("contribution_id", _STR),
        ("gac", _F),
        ("min_agree_rate", _F),
        ("agreed_by_all", _B),
    ),
}


def to_arrow(frames: list[pd.DataFrame], schema: pa.Schema) -> pa.Table:
    """Concatenate ``frames`` into a typed Arrow table (the schema's columns, in order)."""
    if not frames:
        return schema.empty_table()
    frame = pd.concat(frames, ignore_index=True)[schema.names]
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def results_tables(scored: Sequence[OutputScore], outputs: pd.DataFrame) -> dict[str, pa.Table]:
    """The run tables (typed Arrow, one row set per output) of a list of scored outputs."""
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in SCHEMAS}
    task = outputs.set_index("output_id")["task"]
    for s in scored:
        parts["outputs"].append(pd.DataFrame([_outputs_row(s, task.get(s.output_id, "summary"))]))
        r = s.result
        for name, frame in (
            ("scores", r.scores),
            ("cluster_coverage", r.cluster_coverage),
            ("units", s.units),
            ("links", s.links.drop(columns=["output_id"], errors="ignore")),
            ("coverage", r.coverage),
            ("jr_violations", r.jr_violations),
            ("group_coverage", r.group_coverage),
            ("opinion_groups", r.opinion_groups),
            ("representatives", r.representatives),
            ("common_ground", r.common_ground),
        ):
            if len(frame):
                parts[name].append(frame.assign(output_id=s.output_id))
    return {name: to_arrow(parts[name], SCHEMAS[name]) for name in SCHEMAS}


def _outputs_row(s: OutputScore, task: str) -> dict[str, Any]:
    """The ``outputs`` row of one scored output."""
    head = s.result.scores.set_index("metric")["value"]
    info = s.link_info
    return {
        "output_id": s.output_id,
        "model": s.model,
        "task": task,
        "n_units": int(head["n_units"]),
        "n_distinct_units": int((s.units["duplicate_of"] < 0).sum()),
        "n_content_free_units": int(s.units["content_free"].sum()),
        "n_linked_units": int(head["n_linked_units"]),
        "link_method": info.get("method"),
        "link_threshold": info.get("threshold"),
        "n_citations": info.get("n_citations"),
        "n_supported_citations": info.get("n_supported"),
        "citation_precision": info.get("citation_precision"),
        "quality_flags": json.dumps(s.quality.flags),
        "quality_notes": json.dumps(s.quality.notes, ensure_ascii=False),
    }
