"""One vocabulary for every page, the docs and the exports: the glossary and the human names of table columns.

* :data:`GLOSSARY` — term -> definition. ``docs/glossary.md`` is :func:`glossary_markdown` written out
  (a test checks they agree), and the dashboard shows the same text in its "Glossary" expander.
* :data:`COLUMN_LABELS` — raw column name -> (label, help). Every table a page shows goes through
  :func:`readable_table` (pages/shared.text_table), which renames the columns it knows, keeps the help
  text for the column's tooltip, prints ids as integers and writes a missing cell as ``—``.

Pure: no streamlit, no I/O.
"""

from __future__ import annotations

import math

import pandas as pd

from dembias.read.counts import COUNT_DEFINITIONS

#: A missing cell, in every table shown ("None" and "nan" mean nothing to a reader).
MISSING = "—"

#: The glossary: each term a reader meets on a page, in plain words.
GLOSSARY: dict[str, str] = {
    "topic (opinion cluster)": "A group of contributions that say similar things, found by clustering their "
    "meaning (HDBSCAN on sentence embeddings). Topics are about *what was written*, not who voted for it.",
    "minority topic": "One of the smallest topics of a debate: taken from the smallest up, as long as together "
    "they hold at most 20% of the contributions.",
    "vote group (opinion group)": "Participants who vote alike on the contributions, computed by the opinion "
    "map from the votes (Polis's method, recomputed). Every page counts these groups; the groups Polis "
    "published in its own export are shown only as 'groups published by Polis'.",
    "declared group": "A group named by a column of the data (for example a self-reported minority), scored "
    "with `dembias score pluralism --group-by COLUMN`.",
    "survival": "The share of a debate's topics that at least one sentence of the summary carries.",
    "coverage": "How much of a topic, group or contribution the summary carries: a contribution is covered "
    "when some sentence of the summary is linked to it.",
    "p_s / p_t (share of the debate / share of the summary)": "p_s: a topic's or group's share of the "
    "debate (its contributions or participants). p_t: its share of what the summary carries.",
    "ratio": "p_t divided by p_s: 1 means the summary gives a topic or group exactly its share of the debate.",
    "under-represented": "A topic or group whose share of the summary is at most 0.8 times its share of the "
    "debate (ratio 0.8 or less). A topic with no share at all is 'dropped'.",
    "dropped": "A topic that no sentence of the summary carries (ratio 0).",
    "placebo": "The same summary with its links to contributions redrawn at random: what a number would be "
    "by chance. A real summary should do clearly better than its placebo.",
    "interval": "A 95% bootstrap interval: the range the number would take in 95% of resamples of the "
    "contributions (or participants). Shown as [low, high].",
    "UER (under-representation)": "Under-representation rate: over the topics (or vote groups), the mean of "
    "how far each one's share of the summary falls short of its share of the debate (0: no one short-changed).",
    "BUR (unfair summaries)": "Binary unfair rate: across a model's summaries, the share that leave at "
    "least one topic (or vote group) under-represented (ratio 0.8 or less). A rate over summaries, never one "
    "summary's score.",
    "JR (justified representation)": "With k sentences in the summary, every topic holding at least 1/k of "
    "the contributions deserves one; a violation is such a topic the summary does not carry.",
    "stance": "Whether a summary sentence speaks for one vote group (that group agrees with what it "
    "carries clearly more than the others), for common ground (every group agrees) or is contested.",
    "small cell": "A country, language or group with fewer than 5 contributors: its rates are not shown and "
    "its quotes are withheld, so no one can be singled out.",
    "degenerate output": "A model output that is empty, repeats itself or the debate's title, copies the "
    "prompt, is in another language or links to nothing: its scores describe little.",
    "support (citation)": "A citation is supported when the cited contribution says what the sentence "
    "citing it says (its similarity clears the link threshold).",
    "content-free sentence": "A sentence that says nothing specific about the debate (its title, no words, "
    "unrelated, or about the debate as a whole).",
    "fidelity (similarity)": "How close a rewrite or translation stays to its source, as the cosine "
    "similarity of their sentence embeddings (1: same meaning).",
    "stance flip": "A rewrite that turns an author's position around (a negation added or lost, or an NLI "
    "judge finding contradiction).",
    "accepted / mapped contributions": "Accepted: approved by the platform's moderators. Mapped: every "
    "contribution not rejected, unmoderated ones included; the map and the scores read these.",
    "country / language 'not given'": "The contribution and its debate name no country (or language); shown as '—'.",
}

#: Raw column name -> (label, help). Help texts reuse the glossary's and the counts' words.
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "debate_id": ("Debate", "The debate's id in the workspace."),
    "title": ("Title", ""),
    "output_id": ("Output", "The model output's id."),
    "model": ("Model", "The model that wrote the output; 'baseline:*' are extracts for comparison."),
    "language": ("Language", "Language of the contribution (its debate's when it has none); — when not given."),
    "country": ("Country", "Country of the contribution (its debate's when it has none); — when not given."),
    **{k: (k.replace("_", " ").capitalize(), v) for k, v in COUNT_DEFINITIONS.items()},
    "accepted": ("Accepted", COUNT_DEFINITIONS["accepted"]),
    "mapped": ("On the map", COUNT_DEFINITIONS["mapped"]),
    "vote_groups": ("Vote groups", COUNT_DEFINITIONS["vote_groups"]),
    "polis_groups": ("Groups published by Polis", COUNT_DEFINITIONS["polis_groups"]),
    "outputs": ("Model outputs", "Summaries, rewrites and translations stored for the debate."),
    "map_run": ("Opinion map run", "The map run the mapped count and the vote groups come from."),
    "cluster": ("Topic", "Topic (opinion cluster) number; -1 is noise (no topic)."),
    "label": ("Topic label", "Keywords naming the topic."),
    "size": ("Contributions", "Contributions in the topic."),
    "share": ("Share of debate", "The topic's share of the mapped contributions."),
    "vote_group": ("Vote group", GLOSSARY["vote group (opinion group)"]),
    "group": ("Vote group", GLOSSARY["vote group (opinion group)"]),
    "n_participants": ("Participants", "Participants in the group."),
    "p_s": ("Share of debate", "p_s: " + GLOSSARY["p_s / p_t (share of the debate / share of the summary)"]),
    "p_t": ("Share of summary", "p_t: " + GLOSSARY["p_s / p_t (share of the debate / share of the summary)"]),
    "ratio": ("Summary / debate", GLOSSARY["ratio"]),
    "covered": ("Carried", "Whether some sentence of the summary carries it."),
    "is_minority": ("Minority topic", GLOSSARY["minority topic"]),
    "under_represented": ("Under-represented", GLOSSARY["under-represented"]),
    "small_cell": ("Small cell", GLOSSARY["small cell"]),
    "suppressed": ("Withheld (small cell)", GLOSSARY["small cell"]),
    "n": ("n", "How many rows (contributions, rewrites) the value is computed over."),
    "n_contributors": ("Contributors", "Distinct authors behind the rows."),
    "unit_index": ("Sentence", "The sentence's number in the output (from 0)."),
    "unit_text": ("Sentence text", ""),
    "text": ("Text", ""),
    "contribution_id": ("Contribution", "The contribution's id."),
    "method": ("Link method", "How the sentence was linked to the contribution (citation or similarity)."),
    "score": ("Link score", "Similarity of the sentence and the contribution (1: same meaning)."),
    "stance": ("Stance", GLOSSARY["stance"]),
    "n_votes": ("Votes", COUNT_DEFINITIONS["votes"]),
    "agree_rate": ("Agree", "Share of the group's votes on these contributions that agree."),
    "disagree_rate": ("Disagree", "Share of the group's votes on these contributions that disagree."),
    "pass_rate": ("Pass", "Share of the group's votes on these contributions that pass."),
    "metric": ("Metric", ""),
    "value": ("Value", ""),
    "low": ("95% low", GLOSSARY["interval"]),
    "high": ("95% high", GLOSSARY["interval"]),
    "mean": ("Mean", ""),
    "dimension": ("By", "What the rows are grouped by."),
    "note": ("Note", ""),
    "a": ("A", "The value for A."),
    "a_low": ("A 95% low", GLOSSARY["interval"]),
    "a_high": ("A 95% high", GLOSSARY["interval"]),
    "b": ("B", "The value for B."),
    "b_low": ("B 95% low", GLOSSARY["interval"]),
    "b_high": ("B 95% high", GLOSSARY["interval"]),
    "delta": ("B − A", "The difference B minus A."),
    "moved_beyond_intervals": ("Moved beyond intervals", "B lies outside A's 95% interval and A outside B's."),
    "name": ("Metric name", ""),
    "change": ("Change", "Whether the topic is dropped or gained from A to B."),
    "covered_a": ("Carried in A", ""),
    "covered_b": ("Carried in B", ""),
    "group_a": ("Group A", ""),
    "group_b": ("Group B", ""),
    "n_a": ("n A", ""),
    "n_b": ("n B", ""),
    "mean_a": ("Mean A", ""),
    "mean_b": ("Mean B", ""),
    "difference": ("Difference", "Mean B minus mean A."),
    "difference_low": ("Difference 95% low", GLOSSARY["interval"]),
    "difference_high": ("Difference 95% high", GLOSSARY["interval"]),
    "effect_size": ("Cohen's d", "The difference in standard deviations."),
    "p_value": ("p-value", "Permutation test."),
    "q_value": ("q-value", "Benjamini-Hochberg over every test of the run."),
    "k": ("Sentences", "Sentences of the summary."),
    "threshold": ("Fair share", "Contributions a topic needs to deserve a sentence of its own."),
    "passed": ("Passed", ""),
    "check": ("Check", ""),
    "n_units_for": ("Sentences speaking for it", GLOSSARY["stance"]),
    "ratio_low": ("Ratio 95% low", GLOSSARY["interval"]),
    "ratio_high": ("Ratio 95% high", GLOSSARY["interval"]),
    "language_pair": ("Language pair", "Source language -> target language."),
    "similarity": ("Similarity", GLOSSARY["fidelity (similarity)"]),
    "review_score": ("Review score", "Higher: more in need of a human reading."),
    "kind": ("Kind", ""),
    "withheld": ("Withheld", GLOSSARY["small cell"]),
    "outcome": ("Outcome", ""),
    "undone": ("Undone", "The citizen undid the bot's suggestion."),
    "flag_kinds": ("Flags", ""),
    "interaction_id": ("Interaction", ""),
    "created_at": ("Created", ""),
    "author": ("Author", "Who wrote the note."),
    "target_type": ("About a", ""),
    "target_id": ("Which", ""),
    "run_id": ("Run", ""),
}

#: Columns holding whole numbers (ids, counts) that a missing value would otherwise print as 0.0 / 1.0.
INTEGER_COLUMNS = frozenset(
    {"vote_group", "group", "cluster", "unit_index", "size", "n", "n_participants", "n_votes", "k", "n_a", "n_b"}
    | set(COUNT_DEFINITIONS)
)


def column_label(column: str) -> str:
    """The human name of a column (the column itself when it has none)."""
    return COLUMN_LABELS.get(column, (column, ""))[0]


def column_help(column: str) -> str:
    """The help text of a column ('' when none)."""
    return COLUMN_LABELS.get(column, (column, ""))[1]


def _as_integers(series: pd.Series) -> pd.Series:
    """Whole-number floats (0.0, 1.0, NaN) as nullable integers; anything else unchanged."""
    if not pd.api.types.is_float_dtype(series):
        return series
    present = series.dropna()
    if present.empty or not (present == present.round()).all():
        return series
    return series.astype("Int64")


def _number_text(value: object) -> str:
    """A number as a table shows it: whole numbers without decimals, others to 4 significant digits."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    number = float(value)
    return f"{int(number):d}" if number.is_integer() else f"{number:.4g}"


def _filled(series: pd.Series) -> pd.Series:
    """A column with ``—`` for a missing cell (a grid would print "None"). Numeric columns without a missing
    cell keep their type; one with a gap is written as text (whole numbers without decimals)."""
    if series.dtype == object:  # an empty text reads like a missing one
        series = series.mask(series.map(lambda v: isinstance(v, str) and not v.strip()), None)
    if not series.isna().any():
        return series
    if pd.api.types.is_bool_dtype(series) or series.dtype == object:
        return series.astype(object).where(series.notna(), MISSING)
    if pd.api.types.is_numeric_dtype(series):
        return series.map(_number_text).astype(object)
    return series.astype(object).where(series.notna(), MISSING)


def readable_table(frame: pd.DataFrame, *, keep: frozenset[str] = frozenset()) -> pd.DataFrame:
    """``frame`` for a reader: ids as integers, ``—`` for missing text, columns renamed by :data:`COLUMN_LABELS`.

    Columns in ``keep`` keep their name (a page configures them itself). The frame is copied.
    """
    out = frame.copy()
    for column in out.columns:
        if column in INTEGER_COLUMNS:
            out[column] = _as_integers(out[column])
        if column not in keep:
            out[column] = _filled(out[column])
    names: dict[str, str] = {}
    taken = set(out.columns)
    for column in out.columns:
        label = column_label(column)
        if column in keep or column not in COLUMN_LABELS or label in taken:
            continue  # two columns never share a name: the second keeps its own
        names[column] = label
        taken.add(label)
    return out.rename(columns=names)


def glossary_markdown() -> str:
    """docs/glossary.md: the glossary as markdown (the app renders the same entries)."""
    lines = [
        "# Glossary",
        "",
        "<!-- Generated from dembias/read/vocabulary.py (GLOSSARY): edit it there, then run",
        "     `python -m dembias.read.vocabulary > docs/glossary.md`. tests/test_counts.py checks they agree. -->",
        "",
        "The words the dashboard, the reports and the docs use, each with one meaning.",
        "",
    ]
    lines += [f"- **{term}** — {text}" for term, text in GLOSSARY.items()]
    lines += ["", "## Counts", "", "Every count on every page comes from `dembias.read.counts.debate_counts`:", ""]
    lines += [f"- **{column_label(k)}** — {text}" for k, text in COUNT_DEFINITIONS.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(glossary_markdown(), end="")
