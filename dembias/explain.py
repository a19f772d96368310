"""Plain-language explanations of every metric the dashboard shows (one place, so pages and docs agree)."""

from __future__ import annotations

METRICS: dict[str, tuple[str, str]] = {
    "survival": (
        "Cluster survival",
        "Share of the debate's opinion clusters that the summary carries at all (at least one of its sentences links "
        "to a contribution of the cluster). 100% means no opinion cluster was dropped.",
    ),
    "minority_survival": (
        "Minority survival",
        "Survival among minority clusters: the smallest clusters that together hold 20% of the contributions.",
    ),
    "majority_survival": ("Majority survival", "Survival among the other (larger) clusters."),
    "minority_survival_gap": (
        "Minority survival gap",
        "Majority survival minus minority survival. Above 0: the summary drops small opinion clusters more often "
        "than large ones.",
    ),
    "uer_clusters": (
        "Under-representation (UER), clusters",
        "Zhang et al. (NAACL 2024): the mean, over clusters, of how far a cluster's share of the summary falls short "
        "of its share of the debate. 0 means no cluster is under-represented.",
    ),
    "bur_clusters": (
        "Unfair (BUR), clusters",
        "Share of unfair summaries: a summary is unfair when some cluster gets at most 80% of its debate share. For a "
        "single summary this is 0 or 1; across resamples it reads as how robust the verdict is.",
    ),
    "uer_vote_groups": (
        "Under-representation (UER), vote groups",
        "The same measure over the opinion groups found in the votes (Polis-style), which tells a minority opinion "
        "apart from a small topic.",
    ),
    "bur_vote_groups": ("Unfair (BUR), vote groups", "BUR over the vote groups."),
    "coverage": ("Contribution coverage", "Share of contributions that some sentence of the summary carries."),
    "jr_violations": (
        "Justified representation",
        "Fish et al. (Generative Social Choice): with k sentences that carry contributions (headings and sentences "
        "linked to nothing do not count), every cohesive group of at least N/k contributions (here: an opinion "
        "cluster) should be represented by some sentence. Listed: the clusters that are not.",
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
