"""The finding first: one or two plain-language sentences about a scored summary.

Written from the tables of a pluralism run (:mod:`dembias.pluralism.tables`) for one output: its
``outputs`` row (quality flags, citations), ``scores`` (topic survival with its interval and placebo),
``cluster_coverage`` (which topics it carries), ``opinion_groups`` (vote groups' shares) and ``units``
(each sentence, screened). In the reader's units: topics and sentences counted, shares in percent,
95% intervals where the run has them; no acronym without its words. Pure: no I/O, no streamlit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd


def model_label(model: str) -> str:
    """A short name for a model: ``baseline:mmr`` -> ``mmr baseline``, ``org/Name-1B (GGUF ...)`` -> ``Name-1B``."""
    model = (model or "").strip()
    if model.startswith("baseline:"):
        return f"{model.split(':', 1)[1]} baseline"
    name = model.split(" (", 1)[0]
    return name.rsplit("/", 1)[-1] or model or "unnamed model"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def _missing(x: Any) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _score(scores: pd.DataFrame, metric: str) -> tuple[float, float, float] | None:
    """(value, low, high) of a metric, None when absent; low/high NaN when the run has no interval."""
    if scores is None or scores.empty:
        return None
    rows = scores[scores["metric"] == metric]
    if rows.empty or _missing(rows["value"].iloc[0]):
        return None
    row = rows.iloc[0]
    low = float("nan") if _missing(row.get("low")) else float(row["low"])
    high = float("nan") if _missing(row.get("high")) else float(row["high"])
    return float(row["value"]), low, high


def _interval(low: float, high: float) -> str:
    """``95% interval a-b`` in percent, '' when there is none or it is a single point."""
    if math.isnan(low) or math.isnan(high) or round(100 * low) == round(100 * high):
        return ""
    return f"95% interval {100 * low:.0f}–{100 * high:.0f}%"


def _count_title(units: pd.DataFrame) -> int:
    """Sentences that are the debate's title, copies of a title sentence included."""
    if units is None or units.empty:
        return 0
    by_index = dict(zip(units["unit_index"], units["reason"], strict=True))
    n = 0
    for reason, original in zip(units["reason"], units["duplicate_of"], strict=True):
        if reason == "title" or (not _missing(original) and original >= 0 and by_index.get(original) == "title"):
            n += 1
    return n


def _quality_clause(flags: Sequence[str], units: pd.DataFrame) -> str:
    """``is degenerate (...)`` for an output with quality flags, '' without."""
    if not flags:
        return ""
    n = len(units) if units is not None else 0
    parts: list[str] = []
    n_title = _count_title(units)
    if "empty" in flags:
        parts.append("no sentence with a word in it")
    if "copied_title" in flags:
        parts.append(f"the debate's title repeated {n_title} times in its {n} sentences")
    elif "repetition" in flags:
        n_dup = int((units["duplicate_of"].fillna(-1) >= 0).sum()) if n else 0
        parts.append(f"{n_dup} of its {n} sentences repeat an earlier one")
    if "mostly_content_free" in flags:
        n_free = int(units["content_free"].fillna(False).astype(bool).sum()) if n else 0
        if n_free > n_title or "copied_title" not in flags:
            parts.append(f"{n_free} of its {n} sentences say nothing specific about the debate")
    if "copied_prompt" in flags:
        parts.append("sentences copied from the prompt")
    if "wrong_language" in flags:
        parts.append("written in another language than expected")
    if "links_nothing" in flags and "empty" not in flags:
        parts.append("no sentence carries a contribution")
    known = {"empty", "copied_title", "repetition", "mostly_content_free", "copied_prompt", "wrong_language"}
    known |= {"links_nothing", "unsupported_citations"}
    parts += [f.replace("_", " ") for f in flags if f not in known]
    if not parts:  # only unsupported citations: said in their own sentence
        return ""
    return f"is degenerate ({'; '.join(parts)})"


def _topics_clause(scores: pd.DataFrame, coverage: pd.DataFrame) -> str:
    """``carries k of K topics (...)``, with survival's interval, the placebo and the smallest topics."""
    topics = coverage[coverage["cluster"] >= 0] if coverage is not None and not coverage.empty else coverage
    if topics is None or topics.empty:
        return "could not be placed on the debate's topics (no topic map)"
    n_topics = len(topics)
    carried = int(topics["covered"].astype(bool).sum())
    survival = _score(scores, "survival")
    detail: list[str] = []
    if survival is not None:
        interval = _interval(survival[1], survival[2])
        detail.append(_pct(survival[0]) + (f", {interval}" if interval else ""))
    placebo = _score(scores, "placebo:survival")
    if placebo is not None:
        detail.append(f"random links would carry {_pct(placebo[0])}")
    text = f"carries {carried} of the debate's {n_topics} topics" + (f" ({'; '.join(detail)})" if detail else "")
    minority = topics[topics["is_minority"].astype(bool)]
    if len(minority):
        kept = int(minority["covered"].astype(bool).sum())
        if len(minority) == 1:
            text += ", " + ("not its smallest" if kept == 0 else "its smallest too")
        else:
            which = "none" if kept == 0 else ("all" if kept == len(minority) else f"{kept}")
            text += f", {which} of its {len(minority)} smallest"
    return text


def _group_name(row: Mapping[str, Any], total: int, smallest: bool) -> str:
    g = int(row["vote_group"])
    if bool(row.get("small_cell")):
        size = "a small group, its size withheld"
    else:
        size = f"{int(row['n_participants'])} of {total} participants"
    return f"opinion group {g} ({'the smallest, ' if smallest else ''}{size})"


def _groups_sentence(groups: pd.DataFrame) -> str:
    """Which opinion groups (vote groups) the summary leaves under-represented, with their shares."""
    if groups is None or groups.empty:
        return "The debate has no votes, so whose opinions the summary carries cannot be measured."
    total = int(groups["n_participants"].sum())
    n_groups = len(groups)
    smallest = int(groups.sort_values(["n_participants", "vote_group"]).iloc[0]["vote_group"])
    intro = f"Of the {n_groups} opinion groups (participants who vote alike), "
    if n_groups == 1:
        return "The votes form a single opinion group (participants who vote alike), so no group can be left out."
    if float(groups["p_t"].fillna(0).sum()) == 0:
        return f"No sentence speaks for any of the {n_groups} opinion groups (participants who vote alike)."
    under = groups[groups["under_represented"].astype(bool)].sort_values(["n_participants", "vote_group"])
    if under.empty:
        return intro + "none is under-represented: each gets more than 80% of its share of the participants."
    parts = []
    for row in under.to_dict("records"):
        name = _group_name(row, total, int(row["vote_group"]) == smallest)
        if float(row["p_t"]) == 0:
            parts.append(f"{name} gets no sentence")
        else:
            interval = ""
            if not (_missing(row.get("ratio_low")) or _missing(row.get("ratio_high"))):
                interval = f", 95% interval {row['ratio_low']:.2f}–{row['ratio_high']:.2f}"
            parts.append(
                f"{name} gets {_pct(row['p_t'])} of the sentences that speak for a group, for {_pct(row['p_s'])} of the participants "
                f"({row['ratio']:.2f} of its share{interval})"
            )
    return intro + "; ".join(parts) + "."


def _citations_sentence(output: Mapping[str, Any]) -> str:
    made, supported = output.get("n_citations"), output.get("n_supported_citations")
    if _missing(made) or _missing(supported) or int(made) == 0 or int(supported) >= int(made):
        return ""
    unsupported = int(made) - int(supported)
    return f"{unsupported} of its {int(made)} citations are not supported by the sentence that makes them."


def summary_verdict(
    output: Mapping[str, Any],
    *,
    scores: pd.DataFrame,
    cluster_coverage: pd.DataFrame,
    opinion_groups: pd.DataFrame,
    units: pd.DataFrame,
) -> str:
    """The finding for one scored summary, in one to three plain sentences (see the module docstring).

    ``output`` is the output's row of the run's ``outputs`` table (``quality_flags`` a list or its JSON);
    the frames are that output's rows of the run's tables of the same names.
    """
    import json

    flags = output.get("quality_flags") or []
    if isinstance(flags, str):
        flags = json.loads(flags)
    subject = f"The {model_label(str(output.get('model') or ''))} summary"
    if str(output.get("model") or "").startswith("baseline:"):
        subject = f"The {model_label(str(output['model']))} (an extract of contributions, for comparison)"
    quality = _quality_clause(flags, units)
    topics = _topics_clause(scores, cluster_coverage)
    first = f"{subject} {quality} and {topics}." if quality else f"{subject} {topics}."
    sentences = [first, _groups_sentence(opinion_groups), _citations_sentence(output)]
    return " ".join(s for s in sentences if s)


#: What a content-free sentence is, in words (reasons of :func:`dembias.pluralism.support.screen_units`).
CONTENT_FREE_WORDS = {
    "title": "the debate's title",
    "empty": "no words",
    "unrelated": "unrelated to the debate",
    "debate-level": "about the debate as a whole",
}


def sentence_chips(row: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The chips of one summary sentence, as (kind, text): kinds ``topic``, ``group``, ``free``, ``repeat``,
    ``unsupported`` and ``nothing``. ``row`` is a row of :func:`dembias.read.queries.summary_sentences`;
    sentences are numbered from 1 for the reader (unit ``i`` is sentence ``i + 1``)."""
    chips: list[tuple[str, str]] = []
    original = row.get("duplicate_of")
    if not _missing(original) and int(original) >= 0:
        chips.append(("repeat", f"repeats sentence {int(original) + 1}"))
    elif not _missing(row.get("content_free")) and bool(row["content_free"]):
        reason = CONTENT_FREE_WORDS.get(str(row.get("reason")), str(row.get("reason")))
        chips.append(("free", f"says nothing specific: {reason}"))
    labels = row.get("topic_labels")
    labels = [] if labels is None or (not isinstance(labels, str) and len(labels) == 0) else list(labels)
    chips += [("topic", f"topic: {label}") for label in labels]
    stance = row.get("stance")
    if stance == "group" and not _missing(row.get("vote_group")) and int(row["vote_group"]) >= 0:
        chips.append(("group", f"speaks for opinion group {int(row['vote_group'])}"))
    elif stance == "common_ground":
        chips.append(("group", "common ground: every opinion group agrees"))
    elif stance == "contested":
        chips.append(("group", "contested: the opinion groups split on what it carries"))
    cited = 0 if _missing(row.get("n_cited")) else int(row["n_cited"])
    supported = 0 if _missing(row.get("n_supported")) else int(row["n_supported"])
    if cited > supported and not (chips and chips[0][0] == "repeat"):  # a repeat cites for its original
        chips.append(("unsupported", f"{cited - supported} of {cited} citations unsupported"))
    if not chips:
        chips.append(("nothing", "carries no contribution"))
    return chips
