"""What views need, read-only: queries, scorecard, comparisons, explanations, verdicts, exports.

The dashboard and the notebooks import from here; nothing here writes."""
