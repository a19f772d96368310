"""Read-only queries behind the dashboard and notebooks: small frames, never whole embedding tables.

The public API of the package, listed here on purpose so that pages, notebooks and the report import one name,
``queries``, and call ``queries.scorecard(...)``. The modules hold them by what they serve:

- :mod:`.connections`: DuckDB read errors as ``StoreError``, the corpus with runs attached, the cache key;
- :mod:`.runs`: run pickers and a run's small tables;
- :mod:`.debate_records`: debates, outputs, output variants, contribution texts, attribute cells;
- :mod:`.map_views`: map points, contributions in detail, cluster break-downs;
- :mod:`.scorecards`: scorecard, quality, verdict, unfair rate per model, spread over samples, validation checks;
- :mod:`.summary_links`: cluster coverage, unit links and positions, a summary's sentences;
- :mod:`.fidelity_views`: fidelity per model and the review list.
"""

from dembias.read.queries.connections import corpus_with_runs, workspace_version
from dembias.read.queries.debate_records import (
    attribute_cells,
    attribute_cells_on,
    contribution_texts,
    debates_table,
    output_variants,
    outputs_table,
)
from dembias.read.queries.fidelity_views import fidelity_by_model, review_list
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
    "attribute_cells",
    "attribute_cells_on",
    "cluster_breakdown",
    "cluster_coverage",
    "contribution_texts",
    "contributions_detail",
    "corpus_with_runs",
    "debates_table",
    "fidelity_by_model",
    "interaction_runs",
    "map_points",
    "n_mapped",
    "output_quality",
    "output_variants",
    "outputs_table",
    "review_list",
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
