"""Stage 2, pluralism of summaries, written as one ``pluralism`` run per debate.

Linking units to contributions (support test, NLI), the pure metric functions (``metrics``), the
placebo, baselines and the control battery."""
