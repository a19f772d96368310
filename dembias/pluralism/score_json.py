"""The JSON form of a scored summary (the CLI's ``--json`` object, one per output).

Three notions of minority are named apart: *minority topics* (the smallest clusters of what was
written), *opinion groups* (groups of voters) and *declared groups* (``group_by`` columns, language,
country).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from dembias.pluralism.metrics import PluralismResult
    from dembias.pluralism.scoring import OutputScore

Cell = Callable[[str], "dict[str, Any] | None"]
Value = Callable[[str], Any]


def output_json(score: OutputScore, *, group_by: Sequence[str] = ()) -> dict[str, Any]:
    """The JSON record of one scored output: three notions of minority named apart (module docstring)."""
    head = score.result.headline()
    cell, value = _cell_reader(head), _value_reader(head)
    return {
        **_identity_json(score),
        "n_units": value("n_units"),
        **_unit_counts_json(score),
        "n_linked_units": value("n_linked_units"),
        "citations": _citations_json(score.link_info),
        "coverage": cell("coverage"),
        "survival": cell("survival"),
        "minority_topics": _minority_topics_json(score.result, cell, value),
        "opinion_groups": _opinion_groups_json(score.result, cell, value),
        "declared_groups": _declared_groups_json(score.result, group_by),
        "justified_representation": _justified_representation_json(score.result, value),
        "representative_survival": value("representative_survival"),
        "common_ground_precision": value("common_ground_precision"),
        "uer_by_dimension": {k[4:]: v["value"] for k, v in head.items() if k.startswith("uer:")},
        "equal_coverage": {k[15:]: v["value"] for k, v in head.items() if k.startswith("equal_coverage:")},
    }


def _cell_reader(head: dict[str, Any]) -> Cell:
    """A headline as {"value", "low", "high"}, with its placebo beside it when there is one."""

    def cell(name: str) -> dict[str, Any] | None:
        if name not in head:
            return None
        out = dict(head[name])
        placebo = head.get(f"placebo:{name}")
        if placebo is not None:
            out["placebo"] = placebo["value"]
            out["placebo_range"] = [placebo["low"], placebo["high"]]
            out["minus_placebo"] = None if out["value"] is None else out["value"] - placebo["value"]
        return out

    return cell


def _value_reader(head: dict[str, Any]) -> Value:
    """A headline's value alone (None when the metric is absent)."""
    return lambda name: head.get(name, {}).get("value")


def _identity_json(score: OutputScore) -> dict[str, Any]:
    info = score.link_info
    return {
        "debate_id": score.debate_id,
        "output_id": score.output_id,
        "model": score.model,
        "quality_flags": list(score.quality.flags),
        "quality_notes": list(score.quality.notes),
        "link_method": info.get("method"),
        "link_threshold": info.get("threshold"),
    }


def _unit_counts_json(score: OutputScore) -> dict[str, int]:
    units = score.units
    return {
        "n_distinct_units": int((units["duplicate_of"] < 0).sum()) if len(units) else 0,
        "n_content_free_units": int(units["content_free"].sum()) if len(units) else 0,
    }


def _citations_json(info: dict[str, Any]) -> dict[str, Any] | None:
    if info.get("method") != "citation":
        return None
    return {
        "n": info.get("n_citations"),
        "supported": info.get("n_supported"),
        "precision": info.get("citation_precision"),
        "unknown_ids": info.get("n_citations_unknown"),
    }


def _minority_topics_json(result: PluralismResult, cell: Cell, value: Value) -> dict[str, Any]:
    return {
        "definition": "the smallest clusters of what was written, together holding at most "
        f"{result.info.get('minority_share', 0.2):.0%} of the contributions (topics, not opinion groups)",
        "n_topics": value("n_clusters"),
        "n_minority_topics": value("n_minority_topics"),
        "survival": cell("minority_topic_survival"),
        "majority_survival": cell("majority_topic_survival"),
        "gap": cell("minority_topic_gap"),
        "uer": cell("uer_topics"),
        "unfair": value("unfair_topics"),
    }


def _justified_representation_json(result: PluralismResult, value: Value) -> dict[str, Any]:
    return {
        "k": value("jr_k"),
        "threshold": _finite(value("jr_threshold")),  # None when no unit links (k = 0)
        "violations": result.jr_violations[["cluster", "size"]].to_dict("records"),
        "note": "k counts distinct sentences that carry content; a cohesive topic of at least N/k "
        "contributions must get one",
    }


def _opinion_groups_json(result: PluralismResult, cell: Cell, value: Value) -> dict[str, Any]:
    table = result.opinion_groups
    if table is None or table.empty:
        return {"available": False, "note": "no votes: opinion groups and stance are not scored for this debate"}
    groups = []
    for row in table.itertuples(index=False):
        groups.append(
            {
                "group": int(row.vote_group),
                "n_participants": int(row.n_participants),
                "share_of_debate": {"value": row.p_s, "low": row.p_s_low, "high": row.p_s_high},
                "share_of_summary": row.p_t,
                "ratio": {"value": row.ratio, "low": _finite(row.ratio_low), "high": _finite(row.ratio_high)},
                "units_speaking_for": int(row.n_units_for),
                "under_represented": bool(row.under_represented),
                "small_group": bool(row.small_cell),
            }
        )
    return {
        "available": True,
        "stance": "estimated from how each group voted on the contributions a sentence links; whether the "
        "sentence agrees or disagrees with them is not scored without an NLI judge",
        "groups": groups,
        "n_under_represented": value("opinion_groups_under_represented"),
        "uer": cell("uer_opinion_groups"),
        "unfair": value("unfair_opinion_groups"),
        "units_by_stance": {k[13:]: v["value"] for k, v in result.headline().items() if k.startswith("units_stance:")},
    }


def _declared_groups_json(result: PluralismResult, group_by: Sequence[str]) -> dict[str, Any]:
    table = result.group_coverage
    out: dict[str, Any] = {}
    for dim in [*group_by, *(d for d in ("language", "country") if d not in group_by)]:
        rows = table[table["dimension"] == dim]
        if rows.empty:
            continue
        out[dim] = [
            {
                "value": row.value,
                "n": int(row.n),
                "n_contributors": int(row.n_contributors),
                "share_of_debate": row.p_s,
                "share_of_summary": None if row.suppressed else _finite(row.p_t),
                "coverage": None
                if row.suppressed
                else {"value": row.mean_coverage, "low": row.coverage_low, "high": row.coverage_high},
                "parity": None if row.suppressed else _finite(row.parity),
                "under_represented": bool(row.under_represented),
                "suppressed": bool(row.suppressed),
            }
            for row in rows.itertuples(index=False)
        ]
    return out


def _finite(x: Any) -> Any:
    return x if x is None or np.isfinite(x) else None
