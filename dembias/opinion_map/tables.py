"""The tables of a ``mapping`` run, built from a clustering (:class:`MapResult`) and the debate's votes.

``assignments(contribution_id, x, y, cluster, probability, language)``, ``clusters(cluster, size, share,
label, keywords, representative_ids)`` (noise row -1 included), ``cluster_persistence(cluster,
persistence)``, the diagnostics (robustness figures), and when the debate has votes ``vote_groups``,
``comment_group_votes``, ``consensus`` and ``cluster_vote_profile`` (:func:`vote_group_tables`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dembias.opinion_map import diagnostics as diag
from dembias.opinion_map import labels as lab
from dembias.opinion_map import vote_groups as vg
from dembias.opinion_map import votes as vt
from dembias.opinion_map.clustering import MapResult
from dembias.opinion_map.vote_matrix import MIN_VOTES
from dembias.workspace.folder import Workspace


def cluster_table(
    contributions: pd.DataFrame, embeddings: np.ndarray, result: MapResult, *, n_representatives: int = 5
) -> pd.DataFrame:
    """One row per cluster (noise -1 included): size, share, c-TF-IDF label and keywords, representatives."""
    clusters = result.clusters
    keywords = lab.ctfidf_keywords(
        contributions["text"].tolist(), clusters.tolist(), languages=contributions["language"].tolist()
    )
    reps = lab.representatives(contributions["contribution_id"].tolist(), embeddings, clusters, n=n_representatives)
    values, counts = np.unique(clusters, return_counts=True)
    rows = []
    for cluster, size in zip(values.tolist(), counts.tolist(), strict=True):
        words = keywords.get(cluster, [])
        rows.append(
            {
                "cluster": cluster,
                "size": size,
                "share": size / len(clusters),
                "label": "noise" if cluster == -1 else lab.cluster_label(words),
                "keywords": words,
                "representative_ids": reps.get(cluster, []),
            }
        )
    frame = pd.DataFrame(rows)
    return frame.astype({"cluster": "int32", "size": "int32", "share": "float64"})


def map_diagnostics(
    contributions: pd.DataFrame, embeddings: np.ndarray, result: MapResult, *, n_new: int, seed: int
) -> dict[str, float]:
    """Robustness of the clustering: stability across seeds, language confound, sizes."""
    languages = contributions["language"].tolist()
    return {
        "n_contributions": float(len(contributions)),
        "n_clusters": float(result.n_clusters),
        "noise_share": result.noise_share,
        "stability_ari": diag.stability_ari(result.seed_labelings),
        "nmi_language": diag.nmi_language(result.clusters, languages),
        "cross_language_nn_share": diag.cross_language_nn_share(embeddings, languages, seed=seed),
        "cross_language_nn_expected": diag.expected_cross_language_share(languages),
        "min_cluster_size": float(result.min_cluster_size),
        "n_seeds": float(len(result.seed_labelings)),
        "n_new_embeddings": float(n_new),
    }


def diagnostics_table(diagnostics: dict[str, float]) -> pd.DataFrame:
    """The diagnostics as the run's ``diagnostics(metric, value)`` table."""
    return pd.DataFrame({"metric": list(diagnostics.keys()), "value": [float(v) for v in diagnostics.values()]})


def map_tables(contributions: pd.DataFrame, result: MapResult, clusters_frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The map's own tables: assignments (2-D position, cluster), clusters, cluster persistence."""
    return {
        "assignments": pd.DataFrame(
            {
                "contribution_id": contributions["contribution_id"].astype(str).to_numpy(),
                "x": result.xy[:, 0].astype(np.float64),
                "y": result.xy[:, 1].astype(np.float64),
                "cluster": result.clusters.astype(np.int32),
                "probability": result.probabilities.astype(np.float64),
                "language": contributions["language"].astype(object).to_numpy(),
            }
        ),
        "clusters": clusters_frame,
        "cluster_persistence": pd.DataFrame(
            {
                "cluster": pd.Series(list(result.persistence.keys()), dtype="int32"),
                "persistence": pd.Series(list(result.persistence.values()), dtype="float64"),
            }
        ),
    }


@dataclass
class VoteGroupTables:
    """The vote groups of a debate: their tables, their diagnostics, and the parameters they used."""

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    diagnostics: dict[str, float] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)


def vote_group_tables(
    ws: Workspace,
    debate_id: str,
    clusters_by_id: pd.Series,
    *,
    seed: int,
    engine: str,
    moderated_out: Collection[str],
) -> VoteGroupTables:
    """Polis-style vote groups of a debate and how they voted (per comment, consensus, per cluster).

    ``clusters_by_id`` maps contribution_id -> opinion cluster; ``moderated_out`` names the comments
    whose columns are zeroed (Polis's participant filter still counts votes on them).
    """
    all_votes = vt.load_votes(ws, debate_id, include_rejected=True)
    votes = all_votes[~all_votes["contribution_id"].isin(moderated_out)] if moderated_out else all_votes
    groups = vg.compute_vote_groups(all_votes, seed=seed, moderated_out=moderated_out, engine=engine)
    engine_used = groups.engine if groups is not None else vg.choose_engine(all_votes, engine)
    found = VoteGroupTables(
        params={
            "engine": engine_used,
            "engine_requested": engine,
            "seed": seed,
            "min_votes": MIN_VOTES,
            "k_range": list(vg.K_RANGE),
            **({"base_clusters": vg.BASE_CLUSTERS} if engine_used == "dembias" else {}),
            "moderated_out": len(moderated_out),
        }
    )
    if groups is None:
        return found
    group_votes = vt.comment_group_votes(votes, groups.groups)
    found.tables = {
        "vote_groups": groups.groups.astype("int32").rename("vote_group").reset_index(),
        "comment_group_votes": group_votes,
        "consensus": vt.group_aware_consensus(group_votes),
        "cluster_vote_profile": vt.cluster_vote_profile(votes, groups.groups, clusters_by_id),
    }
    found.diagnostics = {
        "vote_groups_k": float(groups.k),
        "vote_groups_silhouette": groups.silhouette,
        "vote_groups_participants": float(len(groups.groups)),
        **{f"vote_groups_silhouette_{name}": score for name, score in groups.candidates.items()},
    }
    published = vt.load_published_groups(ws, debate_id)
    if not published.empty:
        found.diagnostics["vote_groups_ari_vs_published"] = vg.ari_vs_published(groups.groups, published)
    return found
