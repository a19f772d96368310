"""One count of each thing, for every page: how many contributions, participants, vote groups ... a debate has.

Every count the dashboard shows about a debate comes from :func:`debate_counts`, so two pages never
disagree on "how many vote groups" or "how many contributions". Each field is defined in
:data:`COUNT_DEFINITIONS` (the glossary and the pages' help texts read the same words).

Why two numbers that look alike differ, said once here:

* ``accepted`` (approved by the platform's moderators) is not ``mapped``: the map, the scores and every
  other stage read every contribution that was not *rejected*, unmoderated ones included
  (nz-ubi: 71 contributions, 1 rejected, 52 accepted, 70 on the map).
* ``vote_groups`` are the groups the opinion map computes from the votes (Polis's method, recomputed);
  ``polis_groups`` are the groups Polis itself published in its export. Only ``vote_groups`` is used by
  the scores; the published count is shown only under its own label.
* A contribution without its own country or language takes its debate's (one rule, as in the
  breakdowns): ``countries`` and ``languages`` count those values.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from dembias.read import queries
from dembias.workspace.debates import corpus_has_debate
from dembias.workspace.folder import Workspace

#: Each count, in words (the glossary, the column help texts and the docstring of :class:`DebateCounts`).
COUNT_DEFINITIONS: dict[str, str] = {
    "contributions": "every contribution (comment, proposal) of the debate in the corpus, rejected ones included",
    "rejected": "contributions the platform's moderators rejected; no stage reads them",
    "accepted": "contributions the platform's moderators approved (Polis 'moderated = 1')",
    "unmoderated": "contributions neither approved nor rejected; they are read like approved ones",
    "mapped": "contributions placed on the opinion map and scored: every contribution not rejected",
    "participants": "people in the debate's participant table (Polis: everyone who voted or wrote)",
    "voters": "participants with at least one vote",
    "votes": "agree, disagree and pass votes on contributions",
    "vote_groups": "groups of participants who vote alike, computed by the opinion map from the votes; "
    "the one vote-group count every page uses",
    "polis_groups": "the groups Polis itself published in its export (a different computation; shown only "
    "under this label)",
    "countries": "distinct countries of the mapped contributions (a contribution without one takes its debate's)",
    "languages": "distinct languages of the mapped contributions (a contribution without one takes its debate's)",
}


@dataclass(frozen=True)
class DebateCounts:
    """The counts of one debate (each field defined in :data:`COUNT_DEFINITIONS`).

    ``mapped`` and ``vote_groups`` come from the opinion map run when one is given, else ``mapped`` is
    the number of contributions not rejected (what a map would place) and ``vote_groups`` comes from the
    pluralism run's opinion groups when one is given, else None (not computed).
    """

    debate_id: str
    contributions: int
    rejected: int
    accepted: int
    unmoderated: int
    mapped: int
    participants: int
    voters: int
    votes: int
    vote_groups: int | None
    polis_groups: int
    countries: int
    languages: int

    def as_dict(self) -> dict[str, int | str | None]:
        """The counts as a plain dictionary (for JSON and tables)."""
        return asdict(self)


def debate_counts(
    ws: Workspace, *, debate_id: str, mapping_run: str | None = None, pluralism_run: str | None = None
) -> DebateCounts:
    """The counts of debate ``debate_id``, read from the corpus and (when given) its map and scoring runs.

    Raises ``KeyError`` naming the debate when the workspace does not hold it.
    """
    runs = {"m": mapping_run, "p": pluralism_run}
    with queries.corpus_with_runs(ws, {k: v for k, v in runs.items() if v}) as con:
        if not corpus_has_debate(con, debate_id):
            raise KeyError(f"no debate {debate_id!r} in {ws.root}")
        row = queries.corpus_counts(con, debate_id)
        mapped, groups = queries.run_counts(con, mapping=bool(mapping_run), pluralism=bool(pluralism_run))
    not_rejected = int(row.pop("not_rejected"))
    return DebateCounts(
        debate_id=debate_id,
        mapped=not_rejected if mapped is None else mapped,
        vote_groups=groups,
        **{k: int(v) for k, v in row.items()},
    )


def debates_overview(ws: Workspace) -> pd.DataFrame:
    """One row per debate: id, title, language, country and its :func:`debate_counts` on its newest map.

    ``map_run`` names the opinion map the ``mapped`` and ``vote_groups`` counts come from (missing when the
    debate has no map yet; ``vote_groups`` is then missing too). A debate with contributions in several
    languages or countries and none of its own says so (``several``) instead of showing nothing.
    """
    from dembias.workspace.corpus import open_corpus
    from dembias.workspace.runs import latest_run

    con = open_corpus(ws)
    try:
        debates = queries.debates_with_counts(con)
    finally:
        con.close()
    rows = []
    for debate in debates:
        debate_id = debate["debate_id"]
        mapping = latest_run(ws, stage="mapping", debate_id=debate_id)
        counts = debate_counts(ws, debate_id=debate_id, mapping_run=mapping.run_id if mapping else None)
        rows.append(
            {
                "debate_id": debate_id,
                "title": debate["title"],
                "language": debate["language"] or ("several" if counts.languages > 1 else None),
                "country": debate["country"] or ("several" if counts.countries > 1 else None),
                **{k: v for k, v in counts.as_dict().items() if k != "debate_id"},
                "outputs": int(debate["n_outputs"]),
                "map_run": mapping.run_id if mapping else None,
            }
        )
    return pd.DataFrame(rows).astype({"vote_groups": "Int64"})
