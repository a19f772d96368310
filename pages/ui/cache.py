"""The dashboard's one cache layer: every read of the workspace a page makes is a :func:`cached_read`.

A read is a library function whose first argument is a :class:`~dembias.workspace.folder.Workspace`.
``cached_read(read, ...)`` gives the same function of the workspace root (a string) instead, its results kept
by Streamlit in a cache of the read's own (``max_entries`` results). The key is the root and the arguments, and:

* for a read of runs named by id, nothing else: a run never changes once written;
* for a read of what changes (the corpus, the list of runs: ``versioned=True``), also :func:`version`, which
  the caller passes right after the root: replacing the corpus or landing a run makes a new key.

A read that fails with a dembias error shows it and stops the page (``stops_on_error``), except the sidebar's
own reads, whose errors app.py shows on the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from dembias.plots.opinion_map import with_hover
from dembias.read import across, counts, left_out, queries, run_parameters
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import list_runs
from dembias.workspace.staleness import run_staleness, stale_warning
from pages.ui.access import stop_on_error

Version = tuple[float, int]


def version(ws: Workspace) -> Version:
    """Cache key that changes when the corpus is replaced or a run lands."""
    return queries.workspace_version(ws)


def cached_read(
    read: Callable[..., Any], *, max_entries: int, versioned: bool = False, stops_on_error: bool = True
) -> Callable[..., Any]:
    """``read(ws, *args, **kwargs)`` as a cached ``f(root, *args, **kwargs)`` (``f(root, version, ...)`` when
    ``versioned``); see the module's docstring."""
    name = f"{read.__module__}.{read.__qualname__}"

    def call(read_name: str, root: str, key_version: Version | None, args: tuple, kwargs: tuple) -> Any:
        return read(Workspace(root), *args, **dict(kwargs))

    # Streamlit names a cache by its function's module, qualified name and source: one name per read gives each
    # read its own cache and size (``read_name``, hashed with the arguments, keeps two reads apart regardless)
    call.__qualname__ = f"cached_read[{name}]"
    cached = st.cache_data(show_spinner=False, max_entries=max_entries)(call)

    def cached_call(root: str, *args: Any, **kwargs: Any) -> Any:
        key_version = None
        if versioned:
            key_version, *args = args
        return cached(name, root, key_version, tuple(args), tuple(sorted(kwargs.items())))

    cached_call.__name__ = cached_call.__qualname__ = read.__name__
    cached_call.__doc__ = f"{name}, cached (pages.ui.cache.cached_read)."
    return stop_on_error(cached_call) if stops_on_error else cached_call


# ---- reads that return what a cache can keep (plain records) or what a page draws (hover text escaped once)


def _run_records(ws: Workspace, stage: str, debate_id: str) -> list[dict]:
    """The runs of one stage and debate, newest first, as the sidebar and pages use them."""
    return [
        {
            "run_id": r.run_id,
            "created_at": r.created_at,
            "params": r.manifest.get("params", {}),
            "inputs": r.manifest.get("inputs", []),
            "rescores": r.manifest.get("rescores"),
        }
        for r in queries.run_options(ws, stage=stage, debate_id=debate_id)
    ]


def _interaction_run_records(ws: Workspace, debate_id: str) -> list[dict]:
    """Scored interactions runs of this debate, then of all debates (newest first)."""
    return [
        {"run_id": r.run_id, "debate_id": r.debate_id, "params": r.manifest.get("params", {})}
        for r in queries.interaction_runs(ws, debate_id)
    ]


def _map_points(ws: Workspace, debate_id: str, mapping_run: str, cap: int) -> pd.DataFrame:
    """The map's points with their hover text escaped once (a colour change then only regroups them)."""
    return with_hover(queries.map_points(ws, debate_id=debate_id, mapping_run=mapping_run, cap=cap))


def _stale_notes(ws: Workspace, run_ids: tuple[str, ...]) -> list[str]:
    """Warnings for the runs of ``run_ids`` whose debate changed since they read it."""
    chosen = [r for r in list_runs(ws) if r.run_id in run_ids]
    verdicts = run_staleness(ws, chosen)
    notes = [stale_warning(ws, r, verdict=verdicts[r.run_id]) for r in chosen]
    return [n for n in notes if n]


def _debate_counts(ws: Workspace, debate_id: str, mapping_run: str | None, pluralism_run: str | None) -> dict:
    """The debate's counts (dembias.read.counts.debate_counts, the one count every page uses) as a dictionary."""
    return counts.debate_counts(ws, debate_id=debate_id, mapping_run=mapping_run, pluralism_run=pluralism_run).as_dict()


def _left_out_page(
    ws: Workspace, debate_id: str, mapping_run: str, key: str, search: str, limit: int, offset: int
) -> tuple[pd.DataFrame, int]:
    """One page of a left-out item's contributions (dembias.read.left_out.left_out_contributions) and the total."""
    kind, ident = left_out.parse_key(key)
    page = left_out.left_out_contributions(
        ws,
        debate_id=debate_id,
        mapping_run=mapping_run,
        kind=kind,
        ident=ident,
        search=search,
        limit=limit,
        offset=offset,
    )
    return page.rows, page.total


def _item_ids(ws: Workspace, mapping_run: str, key: str) -> tuple[str, ...]:
    """Every contribution id of a left-out item (``topic:N``, ``group:N``)."""
    kind, ident = left_out.parse_key(key)
    return tuple(left_out.item_contribution_ids(ws, mapping_run=mapping_run, kind=kind, ident=ident))


def _by_model(ws: Workspace) -> pd.DataFrame:
    """The minority matrix pooled per model, from the cached matrix (not a second read of every run)."""
    return across.matrix_by_model(ws, minority_matrix(str(ws.root), version(ws)))


# ---- what changes: the corpus and the list of runs (called with version(ws) after the root)

debates = cached_read(queries.debates_table, max_entries=64, versioned=True, stops_on_error=False)
outputs = cached_read(queries.outputs_table, max_entries=64, versioned=True, stops_on_error=False)
runs = cached_read(_run_records, max_entries=64, versioned=True, stops_on_error=False)
stale_notes = cached_read(_stale_notes, max_entries=64, versioned=True, stops_on_error=False)
run_parameter_tables = cached_read(
    run_parameters.run_parameter_records, max_entries=64, versioned=True, stops_on_error=False
)
interaction_runs = cached_read(_interaction_run_records, max_entries=64, versioned=True)
debates_overview = cached_read(counts.debates_overview, max_entries=16, versioned=True)
minority_matrix = cached_read(across.minority_matrix, max_entries=8, versioned=True, stops_on_error=False)
matrix_by_model = cached_read(_by_model, max_entries=8, versioned=True, stops_on_error=False)
by_place = cached_read(across.by_place, max_entries=8, versioned=True, stops_on_error=False)

# ---- runs named by id (a run never changes), and contributions named by id

run_table = cached_read(queries.run_table, max_entries=32)
scored_table = cached_read(queries.scored_table, max_entries=64)
map_points = cached_read(_map_points, max_entries=16)
n_mapped = cached_read(queries.n_mapped, max_entries=16)
scorecard = cached_read(queries.scorecard, max_entries=32)
verdict = cached_read(queries.verdict, max_entries=64)
output_quality = cached_read(queries.output_quality, max_entries=64)
summary_sentences = cached_read(queries.summary_sentences, max_entries=32)
cluster_coverage = cached_read(queries.cluster_coverage, max_entries=32)
unit_links = cached_read(queries.unit_links, max_entries=32)
unit_positions = cached_read(queries.unit_positions, max_entries=32)
cluster_breakdown = cached_read(queries.cluster_breakdown, max_entries=64)
contribution_texts = cached_read(queries.contribution_texts, max_entries=64)
fidelity_by_model = cached_read(queries.fidelity_by_model, max_entries=32)
review_list = cached_read(queries.review_list, max_entries=32)
validation_checks = cached_read(queries.validation_checks, max_entries=32)
unfair_by_model = cached_read(queries.unfair_by_model, max_entries=16)
run_sample_spread = cached_read(queries.run_sample_spread, max_entries=32)
debate_counts = cached_read(_debate_counts, max_entries=64)
left_out_items = cached_read(left_out.left_out, max_entries=32)
left_out_page = cached_read(_left_out_page, max_entries=64)
item_ids = cached_read(_item_ids, max_entries=64)
vote_rates = cached_read(left_out.vote_rates, max_entries=64)
slice_breakdown = cached_read(left_out.slice_breakdown, max_entries=64)
