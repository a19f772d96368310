"""A debate's scoring inputs: its contributions, summaries (units, citations) and latest mapping run.

:func:`load_debate_inputs` reads them from the workspace; :func:`embedder_for_mapping` loads the
embedder the mapping run used (links and baselines embed with it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dembias.errors import DembiasError
from dembias.workspace.contribution_selection import select_contributions
from dembias.workspace.corpus import open_corpus
from dembias.workspace.debates import corpus_has_debate
from dembias.workspace.folder import Workspace
from dembias.workspace.outputs import summary_citations, summary_outputs, summary_units
from dembias.workspace.runs import RunInfo, latest_run, read_run_tables
from dembias.workspace.stage import STAGES

MAPPING_STAGE = STAGES["opinion_map"]  # the run the map stage writes (one definition: workspace.stage)
SCORED_CONTRIBUTION_COLUMNS = (
    "contribution_id", "text", "language", "country", "author_pid",
    "n_agree", "n_disagree", "n_pass", "metadata", "debate_id",
)  # fmt: skip


@dataclass
class DebateInputs:
    """What scoring a debate needs, loaded from the corpus and the debate's latest mapping run."""

    debate_id: str
    contributions: pd.DataFrame
    mapping_run: RunInfo
    assignments: pd.DataFrame
    comment_group_votes: pd.DataFrame | None
    consensus: pd.DataFrame | None
    outputs: pd.DataFrame
    units: pd.DataFrame
    citations: pd.DataFrame


def _metadata_column(contributions: pd.DataFrame, key: str) -> pd.Series:
    def pick(raw: Any) -> Any:
        if raw is None or (isinstance(raw, float) and np.isnan(raw)):
            return None
        try:
            value = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            return None
        return value.get(key) if isinstance(value, dict) else None

    return contributions["metadata"].map(pick)


def load_debate_inputs(
    ws: Workspace, debate_id: str, *, include_rejected: bool = False, group_by: Sequence[str] = ()
) -> DebateInputs:
    """Contributions, summaries (units, citations) and the latest mapping run's tables of a debate.

    A ``group_by`` name that is not a contributions column is looked up as a key of the ``metadata``
    JSON. Raises :class:`DembiasError` when the debate has no mapping run.
    """
    con = open_corpus(ws)
    try:
        if not corpus_has_debate(con, debate_id):
            raise DembiasError(f"no debate {debate_id!r} in {ws.root}")
        contributions = select_contributions(
            con, debate_id=debate_id, include_rejected=include_rejected, columns=SCORED_CONTRIBUTION_COLUMNS
        )
        outputs = summary_outputs(con, debate_id)
        units = summary_units(con, debate_id)
        citations = summary_citations(con, debate_id)
    finally:
        con.close()
    for key in group_by:
        if key not in contributions.columns:
            column = _metadata_column(contributions, key)
            if column.isna().all():
                raise DembiasError(f"debate {debate_id}: no column or metadata key {key!r} to group by")
            contributions[key] = column
    mapping = latest_run(ws, stage=MAPPING_STAGE, debate_id=debate_id)
    if mapping is None:
        raise DembiasError(f"debate {debate_id!r} has no mapping run; run `dembias map --debate {debate_id}` first")
    tables = read_run_tables(ws, mapping.run_id, ("assignments", "comment_group_votes", "consensus"))
    return DebateInputs(
        debate_id=debate_id,
        contributions=contributions,
        mapping_run=mapping,
        assignments=tables["assignments"],
        comment_group_votes=tables.get("comment_group_votes"),
        consensus=tables.get("consensus"),
        outputs=outputs,
        units=units,
        citations=citations,
    )


def embedder_for_mapping(mapping: RunInfo) -> Any:
    """The embedder the mapping run used (its manifest's model id and revision), for links and baselines."""
    from dembias.models.embedders import get_embedder, spec_from_manifest

    return get_embedder(spec_from_manifest(mapping.manifest.get("params", {})))
