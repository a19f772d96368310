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

from dembias.workspace.corpus import corpus_reader
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

SQL_CORPUS_COUNTS = """
WITH c AS (
    SELECT c.*, coalesce(c.country, d.country) AS country_or_debate,
           coalesce(c.language, d.language) AS language_or_debate
    FROM contributions c JOIN debates d USING (debate_id) WHERE c.debate_id = $debate
)
SELECT
    (SELECT count(*) FROM c) AS contributions,
    (SELECT count(*) FROM c WHERE is_rejected) AS rejected,
    (SELECT count(*) FROM c WHERE moderation = 1 AND NOT is_rejected) AS accepted,
    (SELECT count(*) FROM c WHERE moderation <> 1 AND NOT is_rejected) AS unmoderated,
    (SELECT count(*) FROM c WHERE NOT is_rejected) AS not_rejected,
    (SELECT count(*) FROM participants WHERE debate_id = $debate) AS participants,
    (SELECT count(DISTINCT participant_pid) FROM votes WHERE debate_id = $debate) AS voters,
    (SELECT count(*) FROM votes WHERE debate_id = $debate) AS votes,
    (SELECT count(DISTINCT published_group) FROM participants WHERE debate_id = $debate) AS polis_groups,
    (SELECT count(DISTINCT country_or_debate) FROM c WHERE NOT is_rejected) AS countries,
    (SELECT count(DISTINCT language_or_debate) FROM c WHERE NOT is_rejected) AS languages
"""


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


def _table_exists(con, alias: str, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = ?", [alias, table]
        ).fetchall()[0][0]
    )


def _run_counts(con, *, mapping: bool, pluralism: bool) -> tuple[int | None, int | None]:
    """(mapped, vote groups) from the attached runs ``m`` (mapping) and ``p`` (pluralism), None when absent."""
    mapped = groups = None
    if mapping:
        mapped = int(con.execute("SELECT count(*) FROM m.assignments").fetchall()[0][0])
        if _table_exists(con, "m", "vote_groups"):
            groups = int(con.execute("SELECT count(DISTINCT vote_group) FROM m.vote_groups").fetchall()[0][0])
    if groups is None and pluralism and _table_exists(con, "p", "opinion_groups"):
        groups = int(con.execute("SELECT count(DISTINCT vote_group) FROM p.opinion_groups").fetchall()[0][0])
    return mapped, groups


def debate_counts(
    ws: Workspace, *, debate_id: str, mapping_run: str | None = None, pluralism_run: str | None = None
) -> DebateCounts:
    """The counts of debate ``debate_id``, read from the corpus and (when given) its map and scoring runs.

    Raises ``KeyError`` naming the debate when the workspace does not hold it.
    """
    runs = {"m": mapping_run, "p": pluralism_run}
    with corpus_reader(ws, {k: v for k, v in runs.items() if v}) as con:
        if not con.execute("SELECT count(*) FROM debates WHERE debate_id = ?", [debate_id]).fetchall()[0][0]:
            raise KeyError(f"no debate {debate_id!r} in {ws.root}")
        cursor = con.execute(SQL_CORPUS_COUNTS, {"debate": debate_id})
        row = dict(zip([d[0] for d in cursor.description], cursor.fetchall()[0], strict=True))
        mapped, groups = _run_counts(con, mapping=bool(mapping_run), pluralism=bool(pluralism_run))
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
    from dembias.read.info import debate_counts as corpus_rows
    from dembias.workspace.corpus import open_corpus
    from dembias.workspace.runs import latest_run

    con = open_corpus(ws)
    try:
        debates = corpus_rows(con)
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
