"""Reader for a Polis export folder (the format of compdemocracy's openData).

Files: ``comments.csv`` (required), ``votes.csv`` (optional; several votes of one voter on one comment:
the last one counts), ``participants-votes.csv`` (optional; the published opinion group of each
participant, and the votes themselves when ``votes.csv`` is absent), ``summary.csv`` (optional;
key,value rows such as topic, url, conversation-description).

Rejected comments (moderated = -1) are kept with ``is_rejected`` set; analyses exclude them by default.
Rows that Polis itself publishes but that carry nothing to store are skipped and counted in the ingest
summary, never fatal: a rejected comment with an empty body (``skipped_rejected_empty_comments``), the
votes on it (``skipped_votes_on_skipped_comments``), and votes on comment ids that comments.csv does
not list (``skipped_votes_on_unknown_comments``).
Author and voter ids are pseudonymised before anything is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from dembias.errors import IngestError
from dembias.ingest.csv_files import csv_rows, read_csv_chunks, read_header, require_columns
from dembias.ingest.debate_bundle import DebateBundle, DebateRecord
from dembias.ingest.field_checks import (
    VOTE_VALUES,
    parse_int_column,
    parse_timestamps,
    require_ids,
    require_text,
    require_unique,
)
from dembias.ingest.language import detect_languages
from dembias.ingest.pseudonym import Pseudonymiser
from dembias.ingest.source_files import check_decodes, is_present, read_text_file, sniff_encoding
from dembias.validation import normalise_optional_country, normalise_optional_language

COMMENTS_REQUIRED = ("comment-id", "author-id", "agrees", "disagrees", "moderated", "comment-body")
VOTES_REQUIRED = ("comment-id", "voter-id", "vote")
PARTICIPANTS_REQUIRED = ("participant", "group-id")
POLIS_ATTRIBUTION = (
    "Data was gathered using the Polis software (compdemocracy.org/polis) and is sub-licensed under "
    "CC BY 4.0 with Attribution to The Computational Democracy Project."
)


def read_polis(
    folder: str | Path,
    *,
    pseudonymiser_for: Callable[[str], Pseudonymiser],
    debate_id: str | None = None,
    country: str | None = None,
    language: str | None = None,
    licence: str | None = "CC BY 4.0",
    attribution: str | None = POLIS_ATTRIBUTION,
    encoding: str | None = None,
) -> DebateBundle:
    """Read a Polis export folder into a :class:`DebateBundle`.

    ``pseudonymiser_for(debate_id)`` returns the :class:`Pseudonymiser` of the debate. ``language``
    (the debate's language) is given to every contribution; without it each contribution's language is
    detected offline and the debate's is the most common one.
    """
    country = normalise_optional_country(country)
    language = normalise_optional_language(language)
    folder = Path(folder)
    if not folder.is_dir():
        raise IngestError(folder, "not a folder (a Polis export is a folder holding comments.csv)")
    debate_id = debate_id or folder.name
    pseud: Pseudonymiser = pseudonymiser_for(debate_id)
    summary = _read_summary(folder / "summary.csv", encoding)

    comments, skipped_ids = _read_comments(folder / "comments.csv", encoding, pseud, language)
    debate_language = language or _most_common(comments["language"])
    participants, matrix_votes = _read_participants(folder / "participants-votes.csv", encoding, pseud)
    votes, votes_source = _chosen_votes(folder, encoding, pseud, matrix_votes)
    record = _debate_record(
        folder, debate_id, summary, country=country, language=debate_language, licence=licence, attribution=attribution
    )
    return DebateBundle(
        debate=record,
        contributions=comments,
        participants=participants,
        votes=votes,
        contributions_source=str(folder / "comments.csv"),
        votes_source=votes_source,
        skipped={"rejected_empty_comments": len(skipped_ids)},
        skipped_ids=frozenset(skipped_ids),
        votes_on_unknown="skip",
    )


def _chosen_votes(
    folder: Path, encoding: str | None, pseud: Pseudonymiser, matrix_votes: list[pd.DataFrame]
) -> tuple[Iterable[pd.DataFrame], str]:
    """The votes of ``votes.csv`` when the export has one, else those of the participants' vote matrix; and
    the file they come from."""
    votes_path = folder / "votes.csv"
    if is_present(votes_path):
        return _read_votes(votes_path, encoding, pseud), str(votes_path)
    return matrix_votes, str(folder / "participants-votes.csv")


def _debate_record(
    folder: Path,
    debate_id: str,
    summary: dict[str, str],
    *,
    country: str | None,
    language: str | None,
    licence: str | None,
    attribution: str | None,
) -> DebateRecord:
    """The debate's row: title, question and address from ``summary.csv`` (its other keys kept in ``extra``)."""
    return DebateRecord(
        debate_id=debate_id,
        title=summary.get("topic") or debate_id,
        question=summary.get("conversation-description"),
        source_url=summary.get("url"),
        platform="polis",
        country=country,
        language=language,
        licence=licence,
        attribution=attribution,
        source_path=str(folder),
        extra={k: v for k, v in summary.items() if k not in {"topic", "url", "conversation-description"}},
    )


def _read_summary(path: Path, encoding: str | None) -> dict[str, str]:
    if not is_present(path):
        return {}
    enc = sniff_encoding(path, encoding)
    check_decodes(path, enc)
    summary = {}
    for row in csv_rows(read_text_file(path, enc), path=path):
        if len(row) >= 2 and row[0].strip():
            summary[row[0].strip()] = row[1].strip()
    return summary


def _read_comments(
    path: Path, encoding: str | None, pseud: Pseudonymiser, language: str | None
) -> tuple[pd.DataFrame, list[str]]:
    """The comments, and the ids of the rejected empty comments skipped (Polis publishes those)."""
    if not path.exists():
        raise IngestError(path, "missing: a Polis export needs comments.csv")
    enc = sniff_encoding(path, encoding)
    check_decodes(path, enc)
    header = read_header(path, enc, ",")
    require_columns(path, header, COMMENTS_REQUIRED)
    frame = pd.concat(list(read_csv_chunks(path, encoding=enc)), ignore_index=True)
    ids = frame["comment-id"].str.strip()
    empty_id = ids == ""
    if empty_id.any():
        first = empty_id.idxmax()
        raise IngestError(path, "empty comment id", row=int(frame.loc[first, "_row"]), field="comment-id")
    frame["comment-id"] = ids
    require_unique(path, frame, "comment-id")
    moderation = parse_int_column(path, frame, "moderated", allowed=frozenset({-1, 0, 1}))
    # a comment that moderators rejected may be empty in Polis's own export: skip it and count it
    rejected_empty = (frame["comment-body"].astype(str).str.strip() == "") & (moderation == -1).fillna(False)
    skipped_ids = frame.loc[rejected_empty, "comment-id"].tolist()
    if skipped_ids:
        frame = frame.loc[~rejected_empty].reset_index(drop=True)
        moderation = moderation.loc[~rejected_empty].reset_index(drop=True)
    texts = require_text(path, frame, "comment-body", what="comment text")
    agrees = parse_int_column(path, frame, "agrees", minimum=0)
    disagrees = parse_int_column(path, frame, "disagrees", minimum=0)
    created = (
        parse_timestamps(path, frame, "timestamp", unit="ms")
        if "timestamp" in frame.columns
        else pd.Series(pd.NaT, index=frame.index, dtype="datetime64[us]")
    )
    langs = [language] * len(frame) if language else detect_languages(texts)
    return pd.DataFrame(
        {
            "contribution_id": frame["comment-id"],
            "author_pid": pseud.series(frame["author-id"].str.strip()),
            "text": texts,
            "language": langs,
            "country": None,
            "created_at": created,
            "n_agree": agrees,
            "n_disagree": disagrees,
            "n_pass": pd.array([None] * len(frame), dtype="Int64"),
            "moderation": moderation.fillna(0).astype("int16"),
            "is_rejected": (moderation == -1).fillna(False).astype(bool),
            "metadata": None,
            "_row": frame["_row"],
        }
    ), skipped_ids


def _read_votes(path: Path, encoding: str | None, pseud: Pseudonymiser) -> Iterator[pd.DataFrame]:
    enc = sniff_encoding(path, encoding)
    check_decodes(path, enc)
    header = read_header(path, enc, ",")
    require_columns(path, header, VOTES_REQUIRED)
    usecols = [c for c in ("timestamp", *VOTES_REQUIRED) if c in header]

    def chunks() -> Iterator[pd.DataFrame]:
        for chunk in read_csv_chunks(path, encoding=enc, usecols=usecols):
            vote = parse_int_column(path, chunk, "vote", allowed=VOTE_VALUES)
            missing = vote.isna()
            if missing.any():
                first = missing.idxmax()
                raise IngestError(path, "empty vote", row=int(chunk.loc[first, "_row"]), field="vote")
            voted_at = (
                parse_timestamps(path, chunk, "timestamp", unit="ms")
                if "timestamp" in chunk.columns
                else pd.Series(pd.NaT, index=chunk.index, dtype="datetime64[us]")
            )
            yield pd.DataFrame(
                {
                    "contribution_id": chunk["comment-id"].str.strip(),
                    "participant_pid": pseud.series(require_ids(path, chunk, "voter-id", what="voter id")),
                    "vote": vote.astype("int8"),
                    "voted_at": voted_at,
                    "row_number": chunk["_row"],
                }
            )

    return chunks()


def _read_participants(
    path: Path, encoding: str | None, pseud: Pseudonymiser
) -> tuple[pd.DataFrame | None, list[pd.DataFrame]]:
    """Participants with their published group, and the votes of the participant x comment matrix."""
    if not is_present(path):
        return None, []
    enc = sniff_encoding(path, encoding)
    check_decodes(path, enc)
    header = read_header(path, enc, ",")
    require_columns(path, header, PARTICIPANTS_REQUIRED)
    frame = pd.concat(list(read_csv_chunks(path, encoding=enc)), ignore_index=True)
    frame["participant"] = require_ids(path, frame, "participant", what="participant id")
    require_unique(path, frame, "participant")
    groups = parse_int_column(path, frame, "group-id", minimum=0)
    pids = pseud.series(frame["participant"])
    participants = pd.DataFrame({"participant_pid": pids, "published_group": groups.astype("Int32")})

    comment_columns = [c for c in header if c.isdigit()]
    if not comment_columns:
        return participants, []
    matrix = frame[comment_columns].apply(lambda col: col.str.strip())
    long = matrix.stack()
    long = long[long != ""]
    if long.empty:
        return participants, []
    row_idx = long.index.get_level_values(0)
    cells = pd.DataFrame({"_row": frame.loc[row_idx, "_row"].to_numpy(), "vote": long.to_numpy()})
    votes = parse_int_column(path, cells, "vote", allowed=VOTE_VALUES)
    return participants, [
        pd.DataFrame(
            {
                "contribution_id": np.asarray(long.index.get_level_values(1), dtype=object),
                "participant_pid": pids.loc[row_idx].to_numpy(),
                "vote": votes.astype("int8").to_numpy(),
                "voted_at": pd.Series(pd.NaT, index=range(len(long)), dtype="datetime64[us]"),
                "row_number": cells["_row"].to_numpy(),
            }
        )
    ]


def _most_common(values: pd.Series) -> str | None:
    counts = values.dropna().value_counts()
    return str(counts.index[0]) if len(counts) else None
