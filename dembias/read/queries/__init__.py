"""Read-only queries behind the dashboard and notebooks: small frames, never whole embedding tables.

The public API of the package, listed here on purpose so that pages, notebooks and the report import one name,
``queries``, and call ``queries.scorecard(...)``. The modules hold them by what they serve:

- :mod:`.connections`: DuckDB read errors as ``StoreError``, the corpus with runs attached (and whether an attached
  run holds a table), the cache key;
- :mod:`.runs`: run pickers and a run's small tables;
- :mod:`.debate_records`: debates (with their counts), outputs, output variants, contribution texts, attribute cells;
- :mod:`.debate_counts`: the counts of one debate, from the corpus and its attached runs;
- :mod:`.map_views`: map points, contributions in detail, cluster break-downs;
- :mod:`.scorecards`: scorecard, quality, verdict, unfair rate per model, spread over samples, validation checks;
- :mod:`.summary_links`: cluster coverage, unit links and positions, a summary's sentences;
- :mod:`.fidelity_views`: fidelity per model and the review list;
- :mod:`.left_out_rows`: a left-out topic's or group's contributions, their vote rates and attribute breakdowns.
"""

from dembias.read.queries.connections import attached_table_exists, corpus_with_runs, workspace_version
from dembias.read.queries.debate_counts import corpus_counts, run_counts
from dembias.read.queries.debate_records import (
    attribute_cells,
    attribute_cells_on,
    contribution_texts,
    debates_table,
    debates_with_counts,
    output_variants,
    outputs_table,
)
from dembias.read.queries.fidelity_views import fidelity_by_model, review_list
from dembias.read.queries.left_out_rows import (
    attribute_breakdown,
    cluster_member_ids,
    group_vote_rates,
    left_out_slice,
    mapped_comment_votes,
    mapped_vote_groups,
)
from dembias.read.queries.map_views import cluster_breakdown, contributions_detail, map_points, n_mapped
from dembias.read.queries.runs import interaction_runs, run_for, run_options, run_table, scored_table
from dembias.read.queries.scorecards import (
    output_quality,
    run_sample_spread,
    scorecard,
    unfair_by_model,
    validation_checks,
    verdict,
)
from dembias.read.queries.summary_links import cluster_coverage, summary_sentences, unit_links, unit_positions

__all__ = [
    "attached_table_exists",
    "attribute_breakdown",
    "attribute_cells",
    "attribute_cells_on",
    "cluster_breakdown",
    "cluster_coverage",
    "cluster_member_ids",
    "contribution_texts",
    "contributions_detail",
    "corpus_counts",
    "corpus_with_runs",
    "debates_table",
    "debates_with_counts",
    "fidelity_by_model",
    "group_vote_rates",
    "interaction_runs",
    "left_out_slice",
    "map_points",
    "mapped_comment_votes",
    "mapped_vote_groups",
    "n_mapped",
    "output_quality",
    "output_variants",
    "outputs_table",
    "review_list",
    "run_counts",
    "run_for",
    "run_options",
    "run_sample_spread",
    "run_table",
    "scorecard",
    "scored_table",
    "summary_sentences",
    "unfair_by_model",
    "unit_links",
    "unit_positions",
    "validation_checks",
    "verdict",
    "workspace_version",
]
