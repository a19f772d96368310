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

import pandas as pd
import pyarrow as pa

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
