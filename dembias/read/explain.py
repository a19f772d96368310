"""Plain-language explanations of every metric the dashboard shows (one place, so pages and docs agree)."""

from __future__ import annotations

METRICS: dict[str, tuple[str, str]] = {
    "survival": (
        "Topic survival",
        "Share of the debate's topics (clusters of what was written) that the summary carries at all: at least one "
        "of its sentences is supported by a contribution of the topic. 100% means no topic was dropped.",
    ),
    "minority_topic_survival": (
        "Minority-topic survival",
        "Survival among minority topics: the smallest clusters that together hold 20% of the contributions. A small "
        "topic is not an opinion minority; see the opinion groups for that.",
    ),
    "majority_topic_survival": ("Majority-topic survival", "Survival among the other (larger) topics."),
    "minority_topic_gap": (
        "Minority-topic gap",
        "Majority-topic survival minus minority-topic survival. Above 0: the summary drops small topics more often "
        "than large ones.",
    ),
    "uer_topics": (
        "Under-representation (UER), topics",
        "Zhang et al. (NAACL 2024): the mean, over topics, of how far a topic's share of the summary falls short "
        "of its share of the debate. 0 means no topic is under-represented.",
    ),
    "unfair_topics": (
        "Unfair to a topic",
        "Yes when some topic gets at most 80% of its share of the debate. The share of such summaries over a set "
        "(BUR, Zhang et al.) is shown per model; one summary is only yes or no.",
    ),
    "uer_opinion_groups": (
        "Under-representation (UER), opinion groups",
        "The same measure over the opinion groups found in the votes (who agrees with what, Polis-style). Each "
        "sentence is credited to the group that agrees most with the contributions it carries; sentences whose "
        "contributions the groups split on count for no group.",
    ),
    "opinion_groups_under_represented": (
        "Opinion groups under-represented",
        "Opinion groups whose share of the summary is at most 80% of their share of the participants. Small groups "
        "count too: their quotes are withheld, not their share.",
    ),
    "citation_precision": (
        "Citation precision",
        "Share of the summary's citations that its sentence supports: the sentence is closer to the cited "
        "contribution than 99% of unrelated texts are (or entails it, with an NLI judge).",
    ),
    "placebo": (
        "Placebo",
        "The same summary with each sentence's links redrawn at random among the debate's contributions (same number "
        "per sentence). A score near its placebo says the summary reaches topics no better than chance would.",
    ),
    "quality_flags": (
        "Quality flags",
        "Named problems of the output itself: repetition, the title copied, the prompt copied, sentences that say "
        "nothing specific, wrong language, unsupported citations, no contribution carried.",
    ),
    "coverage": ("Contribution coverage", "Share of contributions that some sentence of the summary carries."),
    "jr_violations": (
        "Justified representation",
        "Fish et al. (Generative Social Choice): with k distinct sentences that carry contributions (headings, "
        "repeats and sentences linked to nothing do not count), every cohesive group of at least N/k contributions "
        "(here: a topic) should be represented by some sentence. Listed: the topics that are not. With a small k "
        "only very large topics are entitled to a sentence, so 0 violations for a two-sentence summary says little.",
    ),
    "similarity": (
        "Semantic similarity",
        "Cosine similarity of the source and the rewrite in a multilingual embedding space, with its percentile "
        "against random pairs of the same debate. It cannot see a flipped stance: 'for' and 'against' the same "
        "proposal look alike to embeddings.",
    ),
    "entailment_min": (
        "Bidirectional entailment",
        "With an NLI model: the smaller of P(source entails rewrite) and P(rewrite entails source). Low values and "
        "contradictions flag meaning changes, including stance flips.",
    ),
    "flags": (
        "Lexical flags",
        "Transparent checks: stance changes (a polarity word turned around, a negation added or removed), the "
        "output not in the language asked for, numbers and names dropped or changed, hedges and intensifiers "
        "changed, length ratio. Each flag shows the words that raised it.",
    ),
    "lexical_stance_flip": (
        "Stance flips (lexical)",
        "Share of rewrites whose stance words changed, without a judge model: a polarity concept aligned across "
        "en/fr/de/it/es turned around ('ban' for 'allow', 'less' for 'more', 'not support' for 'support'), or a "
        "sentence gained or lost a negation. Not checked, and said so, for languages without a lexicon (zh...). "
        "A stance said in words outside the lexicon is missed.",
    ),
}


def metric_title(name: str) -> str:
    """Short title of a metric (its name when unknown)."""
    return METRICS.get(name, (name, ""))[0]


def metric_help(name: str) -> str:
    """One-paragraph explanation of a metric ('' when unknown)."""
    return METRICS.get(name, ("", ""))[1]
