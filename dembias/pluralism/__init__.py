"""Stage 2, pluralism of summaries, written as one ``pluralism`` run per debate.

Linking units to contributions (support test, NLI), the pure metric functions (``metrics``), the
placebo, baselines and the control battery. The one entry point is :func:`run` with its
:class:`PluralismParams` (:mod:`dembias.workspace.stage`)."""

from dembias.pluralism.params import PluralismParams
from dembias.pluralism.stage import run

__all__ = ["PluralismParams", "run"]
