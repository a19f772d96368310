"""Metrics: pluralism of summaries, fidelity of rewrites, and the uncertainty tools they share."""
