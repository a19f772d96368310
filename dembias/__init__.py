"""dembias: measure democratic biases of language models in deliberation.

One package per stage and per shared concern (docs/architecture.md: what each may import):

- :mod:`dembias.workspace`: The workspace: corpus database, immutable run files with their manifests, annotations.
- :mod:`dembias.models`: Models: the only place that loads weights.
- :mod:`dembias.ingest`: Ingestion: one reader per format, pseudonyms, redaction and sentence units on the way in.
- :mod:`dembias.opinion_map`: Stage 1, the opinion map of a debate, written as one ``mapping`` run.
- :mod:`dembias.generation`: Generation: versioned prompts and generation runs of a local causal LM (outputs to audit).
- :mod:`dembias.pluralism`: Stage 2, pluralism of summaries, written as one ``pluralism`` run per debate.
- :mod:`dembias.fidelity`: Stage 3, fidelity of rewrites and translations, written as ``fidelity`` and ``interactions`` runs.
- :mod:`dembias.read`: What views need, read-only: queries, scorecard, comparisons, explanations, verdicts, exports.
- :mod:`dembias.jobs`: Jobs: the rescoring queue the dashboard imports, the worker, and the demo build.
- :mod:`dembias.plots`: plot builders (small frames in, plotly figures out).
- :mod:`dembias.cli`: the ``dembias`` command line, argument parsing and printing only.

At the top: :mod:`dembias.errors`, :mod:`dembias.validation`, :mod:`dembias.small_cells` and
:mod:`dembias.uncertainty`, which every layer may import. dembias never imports streamlit; the dashboard
lives in ``app.py`` and ``pages/``.
"""

__version__ = "0.1.0"
